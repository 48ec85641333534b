"""The paper's own numbers the report sets beside the measured ones: PVTv2 (arXiv 2106.13797) Table 6."""

from __future__ import annotations

from pvtlab.report.catalog import Member

# PVTv2 Table 6: ImageNet top-1 (%) of PVTv1-Small and each step the paper adds to it.
TABLE6_TOP1 = {"PVTv1-Small": 79.8, "+ OPE": 81.1, "PVTv2-B2": 82.0, "PVTv2-B2-Li": 82.1}
TABLE6_NOTE = ("Paper: PVTv2 Table 6, ImageNet-1K top-1 of the full-size model after 300 epochs; the measured "
               "values are a small proxy on another task, so compare directions, not sizes.")


def table6_top1(member: Member, previous: Member | None) -> float | None:
    """The Table 6 top-1 of a path step: by the paper model it equals, or "+ OPE" right after PVTv1-Small."""
    if member.paper in TABLE6_TOP1:
        return TABLE6_TOP1[member.paper]
    if member.setting == "+ OPE" and previous is not None and previous.paper == "PVTv1-Small":
        return TABLE6_TOP1["+ OPE"]
    return None
