"""The report's figures: cost against resolution, accuracy against the trained model's cost, main effects,
learning curves, and measured throughput against GMACs with its Pareto front.

Every plot names the model its axes belong to (accuracy comes from the small training model, so it is plotted
against that model's GMACs at its image size), shows its error bars whole (never clipped to 0-100 %), and keeps
legends outside the axes and point labels off every other text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pvtlab.report.catalog import ACCURACY, CEILING_PCT, Catalog, Member
from pvtlab.report.complexity import CURVES, curve_data
from pvtlab.report.curves import band, parse_curve
from pvtlab.report.effects import EffectSet
from pvtlab.report.plot_tools import (
    MARKERS,
    legend_outside,
    new_figure,
    place_labels,
    plot_complexity,
    readable_log_ticks,
)
from pvtlab.toggles import TOGGLES

NAMES = [name for _, _, name in TOGGLES.values()]


def scaling_skip_reason(catalog: Catalog, curve_name: str) -> str | None:
    """Why a curve has no scaling plot (no values, or one resolution only), or None when it has one."""
    data = curve_data(catalog, CURVES[curve_name])
    if data["value"].notna().sum() == 0:
        return "no values"
    measured_at = sorted(data.loc[data["value"].notna(), "resolution"].unique())
    if len(measured_at) < 2:
        return f"measured at {measured_at[0]} px only, so there is no scaling to plot (the tables hold the values)"
    return None


def scaling_figure(catalog: Catalog, curve_name: str) -> Figure | None:
    """Cost vs resolution for one curve (``gmacs``, ``attn_gmacs``, ``peak_mem``, ``throughput``), or None."""
    if curve_name not in CURVES:
        raise ValueError(f"unknown curve '{curve_name}'; allowed: {', '.join(CURVES)}")
    if scaling_skip_reason(catalog, curve_name) is not None:
        return None
    curve = CURVES[curve_name]
    data = curve_data(catalog, curve)
    data = data.assign(status=data["note"].fillna("ok").where(~data["note"].fillna("").str.startswith("failed"),
                                                              "failed"))
    shown = data.groupby(["model", "variant"])["value"].transform(lambda v: v.notna().any()) | data["status"].eq(
        "failed")
    data = data.assign(variant=data["label"])
    return plot_complexity(data[shown].rename(columns={"value": curve.column}), curve.column, panel="panel",
                           relative=True,
                           ylabel=f"{curve.title} ({curve.unit}, log scale)",
                           title=f"{curve.title} vs input resolution{catalog.batch_text(curve.group)} "
                                 "(k: cost grows as side^k)")


def accuracy_figure(catalog: Catalog) -> Figure | None:
    """Top-1 (mean ± 95% CI over seeds) against the compute (MACs) of the model that was trained, per panel."""
    made = _panel_figure(catalog, lambda member: _accuracy_point(catalog, member), height=4.6)
    if made is None:
        return None
    fig, made_panels = made
    scale, unit = _macs_unit(max(p[0] for _, (_, points) in made_panels for p in points))
    panels = [(ax, (title, [(x * scale, *rest) for x, *rest in points])) for ax, (title, points) in made_panels]
    for ax, (title, points) in panels:
        if title.startswith("Paper's path"):
            ax.plot([p[0] for p in points], [p[1] for p in points], color="0.75", linestyle=":", zorder=1,
                    label="path order")
        for index, (x, y, ci, n, member) in enumerate(points):
            ax.errorbar([x], [y], yerr=None if math.isnan(ci) else [ci], capsize=4, linestyle="none", zorder=2,
                        color=f"C{index % 10}", marker=MARKERS[index % len(MARKERS)],
                        label=f"{member.label} (n={n})")
        ax.margins(x=0.15, y=0.12)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))  # a proxy's close GMACs would crowd the default ticks
        _top1_axes(ax, catalog, title, f"Compute of the trained model, {catalog.accuracy_source} ({unit})",
                   legend="bars: 95% CI over seeds (t)")
    fig.suptitle("Accuracy vs the compute of the model that was trained")
    for ax, (_, points) in panels:
        bars = [(x, y - ci, x, y + ci) for x, y, ci, _, _ in points if not math.isnan(ci)]
        place_labels(ax, [(x, y, _short(member)) for x, y, _, _, member in points], avoid=bars)
    return fig


def _macs_unit(largest_gmacs: float) -> tuple[float, str]:
    """(factor from GMACs, unit name): MMACs for a proxy model below 0.1 GMACs (2.5, not 0.0025), else GMACs."""
    return (1e3, "MMACs") if largest_gmacs < 0.1 else (1.0, "GMACs")


def _accuracy_point(catalog: Catalog, member: Member) -> tuple | None:
    entry = catalog.seed_entry(member)
    if not entry.has_value or not member.acc:
        return None
    row = catalog.rows.iloc[member.acc[0]]
    if pd.isna(row["config_json"]):
        return None
    config = json.loads(str(row["config_json"]))
    if pd.notna(row.get("num_classes")):  # the head the model trained with: the data's classes, not the preset's
        config["num_classes"] = int(row["num_classes"])
    gmacs = catalog.gmacs(json.dumps(config, sort_keys=True), int(row["resolution"]))
    ci = entry.ci if entry.ci is not None else float("nan")
    return gmacs, entry.value, ci, entry.n or 0, member


def _reference_lines(ax: Axes, catalog: Catalog) -> None:
    """Chance and the ceiling as thin lines, so a reader sees how much room each variant had."""
    if catalog.chance_pct is not None:
        ax.axhline(catalog.chance_pct, color="0.5", linewidth=0.8, linestyle="--",
                   label=f"chance ({catalog.chance_pct:.3g} %)")
    ax.axhline(CEILING_PCT, color="0.5", linewidth=0.8, linestyle="-.", label=f"ceiling ({CEILING_PCT:g} %)")


def _short(member: Member) -> str:
    """A point label: the path's setting, the factorial's combination, or the variant name."""
    return member.label.split(" (")[0]


# The main-effects figure's cost panels: a few metrics each, so every bar gets its own colour and a readable label.
COST_FAMILIES = {"Params and compute": ("params_m", "gmacs"),
                 "Memory over idle": ("peak_mem_over_idle_mib", "train_peak_mem_over_idle_mib")}
SPEED_PANEL = "Speed, paired by round (right = faster)"
SPEED_KINDS = {"infer": "inference", "train": "training"}


def effects_figure(sets: list[EffectSet], speed: pd.DataFrame | None = None) -> Figure | None:
    """Accuracy panels (pp, 95% CI over seeds), then per model one cost panel per family of costs (% change,
    bars over the other toggles' range), each with a handful of metrics in distinct colours, then per model the
    speed main effects of the paired timing blocks (``speed.factorial_effects``: % change, whiskers the 95% CI)."""
    usable = [s for s in sets if s.main is not None and s.main["n"].gt(0).any()]
    accuracy = [s for s in usable if s.seeded]
    costs = [(model, family, [s for s in usable if not s.seeded and s.model == model and s.column in columns])
             for model in dict.fromkeys(s.model for s in usable if not s.seeded)
             for family, columns in COST_FAMILIES.items()]
    costs = [(model, family, found) for model, family, found in costs if found]
    mains = _speed_mains(speed)
    if not accuracy and not costs and mains.empty:
        return None
    speed_models = list(dict.fromkeys(mains["model"])) if not mains.empty else []
    fig, axes = new_figure(len(accuracy) + len(costs) + len(speed_models), width=6.4, height=3.8, max_cols=2)
    for ax, effect_set in zip(axes, accuracy):
        _effect_points(ax, [effect_set], "effect", seeded=True)
        ax.set_xlabel("Change when switched on (pp)")
        ax.set_title(f"{effect_set.metric.split(' (')[0]}: {effect_set.model}\n(bars: 95% CI over seeds)",
                     fontsize="medium")
    for ax, (model, family, found) in zip(axes[len(accuracy):], costs):
        _effect_bars(ax, found)
        ax.set_xlabel("Change vs the PVTv1 setting (%)")
        ax.set_title(f"{family}: {model}\n(whiskers: range over the other toggles)", fontsize="medium")
    for ax, model in zip(axes[len(accuracy) + len(costs):], speed_models):
        _speed_bars(ax, mains[mains["model"] == model])
        ax.set_xlabel("Speed change when switched on (%)")
        ax.set_title(f"{SPEED_PANEL}: {model}\n(whiskers: 95% CI over rounds)", fontsize="medium")
    fig.suptitle("Main effect of each PVTv2 improvement")
    return fig


def _effect_bars(ax: Axes, sets: list[EffectSet]) -> None:
    """Horizontal bars, one group per improvement, one bar per metric, each metric its own colour."""
    series = []
    for effect_set in sets:
        main = effect_set.main.set_index("improvement").reindex(NAMES)
        values = main["relative_pct"].astype(float).tolist()
        series.append((_metric_label(effect_set.metric), values, _range_bars(main, values)))
    _bar_groups(ax, series)


def _speed_mains(speed: pd.DataFrame | None) -> pd.DataFrame:
    """The main-effect rows of ``speed.factorial_effects`` for inference and training (not interactions)."""
    if speed is None or speed.empty:
        return pd.DataFrame(columns=["model"])
    mains = speed[speed["kind"].isin(list(SPEED_KINDS)) & ~speed["term"].str.contains(" x ")]
    return mains.assign(improvement=mains["term"].str.split(":").str[0])


def _speed_bars(ax: Axes, mains: pd.DataFrame) -> None:
    """Horizontal bars per improvement, one per (step kind, resolution), whiskers the paired 95% CI."""
    series = []
    for (kind, size), rows in mains.groupby(["kind", "resolution"], sort=False):
        by = rows.set_index("improvement").reindex(NAMES)
        values = by["change_pct"].astype(float).tolist()
        lows = [max(v - lo, 0.0) if not math.isnan(lo) else 0.0 for v, lo in zip(values, by["ci95_lo_pct"])]
        highs = [max(hi - v, 0.0) if not math.isnan(hi) else 0.0 for v, hi in zip(values, by["ci95_hi_pct"])]
        series.append((f"{SPEED_KINDS[kind]} @{size} px", values, [lows, highs]))
    _bar_groups(ax, series)


def _bar_groups(ax: Axes, series: list[tuple[str, list[float], list[list[float]]]]) -> None:
    """Horizontal bars, one group per improvement, one bar per (label, values, whiskers) series in its colour."""
    height = 0.8 / max(len(series), 1)
    for k, (label, values, whiskers) in enumerate(series):
        ys = [i - 0.4 + height * (k + 0.5) for i in range(len(NAMES))]
        ax.barh(ys, values, height=height * 0.9, xerr=whiskers, color=f"C{k % 10}",
                error_kw={"capsize": 2, "elinewidth": 0.8}, label=label)
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    ax.margins(x=0.08)
    ax.set_yticks(range(len(NAMES)), NAMES)
    ax.set_ylim(len(NAMES) - 0.5, -0.5)
    ax.grid(True, axis="x", alpha=0.3)
    legend_outside(ax, fontsize="x-small")


def _metric_label(header: str) -> str:
    """ "Inference memory over idle @224 px, batch 8 (MiB)" -> "Inference memory over idle @224 px"."""
    return header.split(" (")[0].split(",")[0]


def _effect_points(ax: Axes, sets: list[EffectSet], column: str, seeded: bool) -> None:
    """One series per effect set, offset vertically so none hides another."""
    for k, effect_set in enumerate(sets):
        offset = (k - (len(sets) - 1) / 2) * min(0.15, 0.7 / max(len(sets), 1))
        main = effect_set.main.set_index("improvement").reindex(NAMES)
        ys = [i + offset for i in range(len(NAMES))]
        values = main[column].astype(float).tolist()
        if seeded:
            errors = [[0.0 if math.isnan(h) else h for h in main["ci95_half"]]] * 2
        else:
            errors = _range_bars(main, values)
        ax.errorbar(values, ys, xerr=errors, fmt=MARKERS[k % len(MARKERS)], markersize=4, capsize=3,
                    color=f"C{k % 10}", label=effect_set.metric)
    ax.axvline(0.0, color="0.4", linewidth=0.8)
    ax.set_yticks(range(len(NAMES)), NAMES)
    ax.set_ylim(len(NAMES) - 0.5, -0.5)
    ax.grid(True, axis="x", alpha=0.3)
    if len(sets) > 1:
        legend_outside(ax, fontsize="x-small")


def _range_bars(main: pd.DataFrame, values: list[float]) -> list[list[float]]:
    """Asymmetric bars from each relative effect to the lowest and highest estimate over the other toggles."""
    low, high = [], []
    for value, (effect, estimates, relative) in zip(values, main[["effect", "estimates", "relative_pct"]].itertuples(
            index=False, name=None)):
        if not isinstance(estimates, list) or not estimates or not effect or math.isnan(value):
            low.append(0.0)
            high.append(0.0)
            continue
        scale = relative / effect
        scaled = sorted(e * scale for e in estimates)
        low.append(max(0.0, value - scaled[0]))
        high.append(max(0.0, scaled[-1] - value))
    return [low, high]


def learning_curves_figure(catalog: Catalog) -> Figure | None:
    """Validation top-1 against images seen per variant: mean over seeds with its 95% CI band."""
    made = _panel_figure(catalog, lambda member: _band(catalog, member), height=4.4)
    if made is None:
        return None
    fig, panels = made
    for ax, (title, curves) in panels:
        for index, (member, data) in enumerate(curves):
            color = f"C{index % 10}"
            n = int(data["n"].max())
            ax.plot(data["images_seen"], data["mean"], color=color, marker=MARKERS[index % len(MARKERS)],
                    markersize=3, linestyle="--" if index >= 10 else "-", label=f"{member.label} (n={n})")
            half = data["ci95_half"].fillna(0.0)
            ax.fill_between(data["images_seen"], data["mean"] - half, data["mean"] + half, color=color, alpha=0.15,
                            linewidth=0)
        _top1_axes(ax, catalog, title, f"Training images seen ({catalog.accuracy_source})",
                   legend="mean, band: 95% CI over seeds")
    fig.suptitle("Learning curves: validation top-1 through training")
    return fig


def _top1_axes(ax: Axes, catalog: Catalog, title: str, xlabel: str, legend: str) -> None:
    """What every top-1 panel shares: chance and ceiling lines, labels, grid, and the legend outside the data."""
    _reference_lines(ax, catalog)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Validation top-1 (%)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    legend_outside(ax, title=legend)


def _band(catalog: Catalog, member: Member) -> tuple[Member, pd.DataFrame] | None:
    """A member's learning curve over seeds (see ``curves.band``); None when no seed recorded one."""
    rows = catalog.rows.iloc[list(member.acc)]
    rows = rows[rows["status"].eq("ok") & rows["group"].eq(ACCURACY)]
    data = band([c for c in rows["val_curve"].map(parse_curve) if c is not None])
    return None if data.empty else (member, data)


def _panel_figure(catalog: Catalog, point: Callable[[Member], object | None],
                  height: float) -> tuple[Figure, list[tuple[Axes, tuple[str, list]]]] | None:
    """A figure with one axes per plot panel holding what ``point`` gives for its members (None: left out);
    panels left empty are dropped, and with none left there is no figure."""
    panels = []
    for title, members in catalog.panels():
        found = [p for p in map(point, members) if p is not None]
        if found:
            panels.append((title, found))
    if not panels:
        return None
    fig, axes = new_figure(len(panels), width=6.8, height=height)
    return fig, list(zip(axes, panels))


def throughput_points(catalog: Catalog) -> pd.DataFrame:
    """One row per (architecture, resolution) timed: label, resolution, GMACs there, img/s and its IQR."""
    names = catalog.short_names()
    rows = []
    for line in catalog.ordered_lines():
        for r in catalog.resolutions("throughput"):
            speed = catalog.measured(line, "throughput", "infer_img_per_s_median", r)
            if not speed.has_value:
                continue
            iqr = catalog.measured(line, "throughput", "infer_img_per_s_iqr", r)
            rows.append({"label": names[line], "line": line, "resolution": r, "gmacs": catalog.gmacs(line.config, r),
                         "img_per_s": speed.value, "iqr": iqr.value if iqr.has_value else float("nan")})
    return pd.DataFrame(rows, columns=["label", "line", "resolution", "gmacs", "img_per_s", "iqr"])


def pareto_front(points: pd.DataFrame) -> pd.DataFrame:
    """The points no other beats on both axes (fewer or equal GMACs and more img/s), by GMACs."""
    ordered = points.sort_values(["gmacs", "img_per_s"], ascending=[True, False])
    best, keep = -math.inf, []
    for index, speed in ordered["img_per_s"].items():
        if speed > best:
            keep.append(index)
            best = speed
    return ordered.loc[keep]


def throughput_figure(catalog: Catalog) -> Figure | None:
    """Measured inference img/s against GMACs at the same side, one marker per (variant, resolution)."""
    points = throughput_points(catalog)
    if points.empty:
        return None
    fig, (ax,) = new_figure(1, width=8.5, height=5.6)
    for index, (resolution, part) in enumerate(points.groupby("resolution")):
        color = f"C{index % 10}"
        ax.errorbar(part["gmacs"], part["img_per_s"], yerr=part["iqr"].fillna(0.0) / 2, fmt=MARKERS[index % 10],
                    color=color, markersize=5, capsize=3, linestyle="none", label=f"{resolution} px")
        front = pareto_front(part)
        ax.step(front["gmacs"], front["img_per_s"], where="post", color=color, linewidth=0.9, alpha=0.7)
        ax.plot(front["gmacs"], front["img_per_s"], linestyle="none", marker="o", markersize=11,
                markerfacecolor="none", markeredgecolor=color, label=f"Pareto front @{resolution} px")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.margins(0.12)
    readable_log_ticks(ax, "x")
    readable_log_ticks(ax, "y")
    ax.set_xlabel("Compute of the full-size model at that side (GMACs, log scale)")
    ax.set_ylabel(f"Measured inference throughput{catalog.batch_text('throughput')} (img/s, log scale)")
    ax.set_title("Does fewer GMACs mean faster?")
    ax.grid(True, which="major", alpha=0.3)
    legend_outside(ax, title="bars: IQR over repeats")
    fig.suptitle("Measured throughput vs compute (up and left is better)")
    place_labels(ax, list(zip(points["gmacs"], points["img_per_s"], points["label"])))
    return fig
