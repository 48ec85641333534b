"""The names a report prints for configs: what a path step changes ("+ OPE") and the paper model a config is.

The grid computes them once per spec (``pvtlab.grid.structure``) and writes them to grid.json; the report reads
them there, and computes them from the rows' configs only for rows that come without a structure.
"""

from __future__ import annotations

from functools import cache

from pvtlab.models import SIZE_FIELDS, STYLE_FIELDS, get_config, list_models

# What a path step changed, by config field (fields not named here are shown by their own name).
CHANGE_NAMES = {"patch_embed": "OPE", "attention": "LSRA", "ffn_relu": "FFN ReLU", "head_pool": "head",
                "stage_norm": "norms", "conv_init": "init"}
V2_STYLE = ("head_pool", "stage_norm", "conv_init")


def paper_name(preset: str) -> str:
    """ "PVTv1-Small" for pvt_v1_small, "PVTv2-B2-Li" for pvt_v2_b2_li."""
    _, version, *rest = preset.split("_")
    return f"PVT{version}-" + "-".join(part.capitalize() for part in rest)


@cache
def _preset_dicts() -> dict[str, dict]:
    return {name: get_config(name).to_dict() for name in list_models() if name.startswith(("pvt_v1", "pvt_v2"))}


def paper_model(config: dict | None, base_model: str | None, style_only: bool = False) -> str:
    """The paper model a config is, e.g. "PVTv2-B2"; "" when it is none of them.

    A full-size config matches a preset when every architecture field is equal (class count, image size and
    regularisation taken from the cell). A small training model (``style_only``) has other sizes: it is its
    ``base_model``'s paper model when every style field equals that preset's.
    """
    if not config:
        return ""
    if style_only:
        preset = _preset_dicts().get(str(base_model))
        same = preset is not None and all(config.get(f) == preset[f] for f in STYLE_FIELDS)
        return paper_name(str(base_model)) if same else ""
    for name, preset in _preset_dicts().items():
        if all(config.get(f) == preset[f] for f in (*SIZE_FIELDS, *STYLE_FIELDS)):
            return paper_name(name)
    return ""


def step_setting(before: dict | None, after: dict | None) -> str:
    """What a path step changed: "+ OPE", "+ CFFN", "+ v2 head, norms, init"; "+ (no change)" when nothing."""
    if not before or not after:
        return "+ ?"
    changed = [f for f in STYLE_FIELDS if before.get(f) != after.get(f)]
    if any(before.get(f) != after.get(f) for f in SIZE_FIELDS):
        changed.append("sizes")
    parts = []
    if {"pos_embed", "ffn"} & set(changed):
        parts.append("CFFN" if {"pos_embed", "ffn"} <= set(changed) else
                     ("conv FFN" if "ffn" in changed else "no position embedding"))
    if "patch_embed" in changed:
        parts.insert(0, CHANGE_NAMES["patch_embed"])
    style = [CHANGE_NAMES[f] for f in V2_STYLE if f in changed]
    if style:
        parts.append("v2 " + ", ".join(style) if after.get("head_pool") == "mean" else ", ".join(style))
    parts += [CHANGE_NAMES.get(f, f) for f in changed if f not in ("pos_embed", "ffn", "patch_embed", *V2_STYLE)]
    return "+ " + " + ".join(parts) if parts else "+ (no change)"
