"""Cost against input resolution on log-log axes, one line per variant, the fitted exponent in the legend.

On log-log axes a power law is a straight line whose slope is the exponent, so SRA (slope near 4 at
high resolution) and linear SRA (near 2) separate at a glance.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from pvtlab.report.complexity import CURVES, curve_data
from pvtlab.report.figures import line_style, new_figure, plain_log_ticks, variant_groups
from pvtlab.report.scaling import fit_exponent


def scaling_skip_reason(cells: pd.DataFrame, curve_name: str) -> str | None:
    """Why a curve has no scaling plot (no values, or one resolution only), or None when it has one."""
    data = curve_data(cells, CURVES[curve_name])
    if data["value"].notna().sum() == 0:
        return "no values"
    measured_at = sorted(data.loc[data["value"].notna(), "resolution"].unique())
    if len(measured_at) < 2:
        return f"measured at {measured_at[0]} px only, so there is no scaling to plot (the tables hold the values)"
    return None


def scaling_figure(cells: pd.DataFrame, curve_name: str) -> Figure | None:
    """The figure for one curve (``gmacs``, ``attn_gmacs``, ``peak_mem``, ``throughput``).

    None when it has no values or only one resolution (see ``scaling_skip_reason``). Architectures with no
    value and no failure for this curve (not in this group of the grid) are left out of the legend.
    """
    if curve_name not in CURVES:
        raise ValueError(f"unknown curve '{curve_name}'; allowed: {', '.join(CURVES)}")
    if scaling_skip_reason(cells, curve_name) is not None:
        return None
    curve = CURVES[curve_name]
    data = curve_data(cells, curve)
    shown = data["value"].notna() | data["note"].fillna("").str.startswith("failed")
    present = set(zip(data.loc[shown, "model"], data.loc[shown, "variant"]))
    # (index, member): the index in the full panel keeps a line's colour whichever lines this curve lacks
    panels = [(title, [(i, m) for i, m in enumerate(members) if (m.line.model, m.line.name) in present])
              for title, members in variant_groups(cells)]
    panels = [(title, members) for title, members in panels if members]
    fig, axes = new_figure(len(panels))
    resolutions = sorted(data["resolution"].unique())
    for ax, (title, members) in zip(axes, panels):
        for index, member in members:
            part = data[data["model"].eq(member.line.model) & data["variant"].eq(member.line.name)]
            ok = part[part["value"].notna()]
            slope = fit_exponent(ok["resolution"].tolist(), ok["value"].tolist())
            text = f"{member.label}: k = {slope:.2f}" if pd.notna(slope) else f"{member.label}: k n/a"
            failed = part.loc[part["note"].fillna("").str.startswith("failed"), "resolution"].tolist()
            if failed:
                text += f" (failed @{', '.join(str(r) for r in failed)} px)"
            ax.plot(ok["resolution"], ok["value"], markersize=4, label=text, **line_style(member, index))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(resolutions, [str(r) for r in resolutions])
        ax.xaxis.set_minor_formatter(NullFormatter())
        plain_log_ticks(ax.yaxis)
        ax.set_xlabel("Input side length (px, log scale)")
        ax.set_ylabel(f"{curve.title} ({curve.unit}, log scale)")
        ax.set_title(title)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize="small", title="variant: fitted exponent k", title_fontsize="small")
    fig.suptitle(f"{curve.title} vs input resolution (k: cost grows as side^k)")
    return fig
