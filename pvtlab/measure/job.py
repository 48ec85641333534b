"""Measurement jobs: one cell of params, FLOPs, memory or throughput, or one paired timing block, resolved once.

A job holds exactly what its measurement uses, with every default written out (``pvtlab.defaults``): a count
(params, FLOPs) only the model and the input size, a memory job the step's options (``STEP_OPTIONS``), a
throughput job those and the timing options (``TIMING_OPTIONS``). Grid expansion builds jobs, a cell's id is
the hash of ``identity()``, a worker runs the job (``run.run_measure_job``, ``block.run_block_job``) and
the row records ``to_json()`` once. ``timeout_s`` is how a job runs, not what it measures: outside the identity.
Every option is checked here, against its declared rule, before anything runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from pvtlab import defaults
from pvtlab.columns import COMPLEXITY_GROUPS
from pvtlab.errors import (Rule, UserInputError, boolean, check_fields, did_you_mean, non_negative_int, number_in,
                           positive_int)
from pvtlab.models import PVTConfig
from pvtlab.torch_settings import AMP_DTYPES, check_device

from .conventions import ImageSize, parse_image_size

STEP_OPTIONS = ("batch_size", "amp_dtype", "channels_last", "compile")  # what shapes one measured step
TIMING_OPTIONS = (*STEP_OPTIONS, "time_budget_s", "warmup", "repeats")  # ... and how it is timed
GROUP_OPTIONS: dict[str, tuple[str, ...]] = {"params": (), "flops": (), "memory": STEP_OPTIONS,
                                             "throughput": TIMING_OPTIONS}
RUN_OPTIONS = ("timeout_s",)  # how a job runs, not what it measures
RULES: dict[str, Rule] = {
    "batch_size": positive_int("give an int >= 1 or None"),
    "amp_dtype": Rule(lambda v: v in AMP_DTYPES, f"choose None or one of {list(AMP_DTYPES)}", tuple(AMP_DTYPES)),
    "channels_last": boolean(), "compile": boolean(),
    "time_budget_s": number_in(0.0, open_low=True), "warmup": non_negative_int("give an int >= 0",
                                                                                            optional=False),
    "repeats": positive_int("give an int >= 1", optional=False),
    "timeout_s": Rule(number_in(0.0, open_low=True).test, "give a number of seconds > 0 or None"),
}


def option_defaults() -> dict[str, Any]:
    """Each option's default, read from ``pvtlab.defaults`` when a job is built."""
    return {"batch_size": None, "amp_dtype": defaults.MEASURE_AMP_DTYPE, "channels_last": defaults.CHANNELS_LAST,
            "compile": defaults.COMPILE, "time_budget_s": defaults.TIME_BUDGET_S, "warmup": defaults.TIMING_WARMUP,
            "repeats": defaults.REPEATS, "timeout_s": defaults.TIMEOUT_S}


def resolve_options(names: tuple[str, ...], given: Mapping[str, Any], device: str) -> dict[str, Any]:
    """``names`` with their values from ``given`` over their defaults (batch None: the device's), each checked."""
    unknown = [name for name in names if name not in RULES]
    if unknown:
        raise UserInputError(f"option {unknown[0]!r} is not allowed; choose from {list(RULES)}"
                             f"{did_you_mean(unknown[0], RULES)}")
    fallback = option_defaults()
    options = {name: given.get(name, fallback[name]) for name in names}
    check_fields(options, {name: RULES[name] for name in names})
    if "batch_size" in options and options["batch_size"] is None:
        options["batch_size"] = defaults.default_batch(device)
    return options


def _resolution_json(resolution: ImageSize) -> int | list[int]:
    return resolution if isinstance(resolution, int) else list(resolution)


@dataclass(frozen=True)
class MeasureJob:
    """One group measured on one model at one input size; ``options`` are exactly ``GROUP_OPTIONS[group]``."""

    group: str
    config: PVTConfig
    resolution: ImageSize
    device: str  # where it runs; counts (params, FLOPs) do not depend on it, so their identity leaves it out
    options: Mapping[str, Any]
    timeout_s: float | None = field(default=None, metadata={"in_id": False})

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "measure", "group": self.group, "config": self.config.to_dict(),
                "resolution": _resolution_json(self.resolution), "device": self.device,
                "options": dict(self.options), "timeout_s": self.timeout_s}

    def identity(self) -> dict[str, Any]:
        out = {k: v for k, v in self.to_dict().items() if k != "timeout_s"}
        if not self.options:
            out.pop("device")
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> MeasureJob:
        resolution = raw["resolution"]
        return cls(group=raw["group"], config=PVTConfig(**raw["config"]),
                   resolution=resolution if isinstance(resolution, int) else tuple(resolution), device=raw["device"],
                   options=dict(raw["options"]), timeout_s=raw["timeout_s"])


def measure_job(group: str, config: PVTConfig, resolution: ImageSize, *, device: str = "cpu",
                timeout_s: float | None = defaults.TIMEOUT_S, **given: Any) -> MeasureJob:
    """The job of measuring ``group``; ``given`` options the group does not use are left out (``measure``
    takes them all; a grid spec may only give the group's own: ``GROUP_OPTIONS``)."""
    if group not in COMPLEXITY_GROUPS:
        raise UserInputError(f"group={group!r} is not allowed; choose one of {list(COMPLEXITY_GROUPS)}"
                             f"{did_you_mean(group, COMPLEXITY_GROUPS)}")
    if not isinstance(config, PVTConfig):
        raise UserInputError(f"config={type(config).__name__!r} is not allowed; give a pvtlab PVTConfig")
    parse_image_size(resolution)
    device = check_device(device)
    check_fields({"timeout_s": timeout_s}, {"timeout_s": RULES["timeout_s"]})
    checked = resolve_options(tuple(given), given, device)  # every value given is checked, used or not
    return MeasureJob(group=group, config=config, resolution=resolution, device=device,
                      options=resolve_options(GROUP_OPTIONS[group], checked, device),
                      timeout_s=timeout_s)


@dataclass(frozen=True)
class BlockJob:
    """Several models timed in the same interleaved rounds at one input size (block.py); ``arms`` maps each
    arm's id to its model, ``ref`` names the arm the ratios divide by."""

    arms: tuple[tuple[str, PVTConfig], ...]
    ref: str
    resolution: ImageSize
    device: str
    options: Mapping[str, Any]  # TIMING_OPTIONS
    timeout_s: float | None = field(default=None, metadata={"in_id": False})  # per arm

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "block", "arms": [[name, config.to_dict()] for name, config in self.arms], "ref": self.ref,
                "resolution": _resolution_json(self.resolution), "device": self.device,
                "options": dict(self.options), "timeout_s": self.timeout_s}

    def identity(self) -> dict[str, Any]:
        return {k: v for k, v in self.to_dict().items() if k != "timeout_s"}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> BlockJob:
        resolution = raw["resolution"]
        return cls(arms=tuple((name, PVTConfig(**config)) for name, config in raw["arms"]), ref=raw["ref"],
                   resolution=resolution if isinstance(resolution, int) else tuple(resolution), device=raw["device"],
                   options=dict(raw["options"]), timeout_s=raw["timeout_s"])


def block_job(configs: Mapping[str, PVTConfig], resolution: ImageSize, *, ref: str, device: str = "cpu",
              timeout_s: float | None = defaults.TIMEOUT_S, **given: Any) -> BlockJob:
    """The job of timing ``configs`` (name -> model) as one paired block against ``ref``."""
    from .paired import AA_ARM

    if not configs or ref not in configs or AA_ARM in configs:
        raise UserInputError(f"ref={ref!r} is not allowed; name one of the block's models {sorted(configs)} "
                             f"(none may be called {AA_ARM!r})")
    for config in configs.values():
        if not isinstance(config, PVTConfig):
            raise UserInputError(f"config={type(config).__name__!r} is not allowed; give a pvtlab PVTConfig")
    parse_image_size(resolution)
    device = check_device(device)
    check_fields({"timeout_s": timeout_s}, {"timeout_s": RULES["timeout_s"]})
    return BlockJob(arms=tuple(configs.items()), ref=ref, resolution=resolution, device=device,
                    options=resolve_options(TIMING_OPTIONS, given, device), timeout_s=timeout_s)

