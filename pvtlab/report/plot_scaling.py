"""Cost against input resolution on log-log axes, one line per variant, the fitted exponent in the legend.

On log-log axes a power law is a straight line whose slope is the exponent, so SRA (slope near 4 at
high resolution) and linear SRA (near 2) separate at a glance.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from pvtlab.report.complexity import CURVES, curve_data
from pvtlab.report.figures import new_figure, variant_groups
from pvtlab.report.scaling import fit_exponent


def scaling_figure(cells: pd.DataFrame, curve_name: str) -> Figure | None:
    """The figure for one curve (``gmacs``, ``attn_gmacs``, ``peak_mem``, ``throughput``); None without data."""
    if curve_name not in CURVES:
        raise ValueError(f"unknown curve '{curve_name}'; allowed: {', '.join(CURVES)}")
    curve = CURVES[curve_name]
    data = curve_data(cells, curve)
    if data["value"].notna().sum() == 0:
        return None
    panels = [(title, members) for title, members in variant_groups(cells)
              if data.set_index(["model", "variant"]).index.isin([(m, v) for m, v, _ in members]).any()]
    fig, axes = new_figure(len(panels))
    resolutions = sorted(data["resolution"].unique())
    for ax, (title, members) in zip(axes, panels):
        for model, variant, name in members:
            part = data[data["model"].eq(model) & data["variant"].eq(variant)]
            ok = part[part["value"].notna()]
            slope = fit_exponent(ok["resolution"].tolist(), ok["value"].tolist())
            text = f"{name}: k = {slope:.2f}" if pd.notna(slope) else f"{name}: k n/a"
            failed = part.loc[part["note"].fillna("").str.startswith("failed"), "resolution"].tolist()
            if failed:
                text += f" (failed @{', '.join(str(r) for r in failed)} px)"
            ax.plot(ok["resolution"], ok["value"], marker="o", markersize=4, label=text)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(resolutions, [str(r) for r in resolutions])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("Input side length (px, log scale)")
        ax.set_ylabel(f"{curve.title} ({curve.unit}, log scale)")
        ax.set_title(title)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize="small", title="variant: fitted exponent k", title_fontsize="small")
    fig.suptitle(f"{curve.title} vs input resolution (k: cost grows as side^k)")
    return fig
