"""``measure``: one group of measurements of one model at one resolution, as one flat result row.

A measurement failure never raises: out-of-memory is retried at half the batch (the batch that ran is recorded),
and a timeout or any other error becomes ``status="failed"`` with the error text, so a grid never loses a row.
Only bad arguments (a user's mistake, not a measurement) raise ``UserInputError``.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import torch

from pvtlab.errors import UserInputError
from pvtlab.models import PVTConfig, build_model

from .analytic import analytic_count
from .flops import count_flops
from .isolate import ChildError, ChildTimeout, run_in_child
from .memory import MIB, method_name, peak_memory
from .oom import with_batch_backoff
from .params import count_params
from .peak import matmul_peak_flops, mfu
from .provenance import provenance
from .sizes import ImageSize, parse_image_size
from .steps import AMP_DTYPES, Workload
from .timing import measure_throughput
from ..threads import torch_threads

# cells.csv columns filled by each group (docs/DESIGN.md); every record also has status, error and provenance.
GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "params": ("params_m", "trainable_params_m"),
    "flops": ("gmacs", "attn_gmacs", "gflops", "analytic_gmacs", "flop_counter", "uncounted_ops"),
    "memory": ("peak_mem_mib", "peak_mem_over_idle_mib", "train_peak_mem_mib", "train_peak_mem_over_idle_mib",
               "mem_method", "batch_size"),
    "throughput": ("infer_img_per_s_median", "infer_img_per_s_iqr", "infer_latency_ms_median",
                   "train_img_per_s_median", "train_img_per_s_iqr", "mfu_infer", "mfu_train", "batch_size",
                   "threads"),
}
GROUPS = tuple(GROUP_COLUMNS)
DEFAULT_BATCH = {"cpu": 8, "cuda": 64}


def _check(ok: bool, name: str, value: Any, allowed: str) -> None:
    if not ok:
        raise UserInputError(f"{name}={value!r} is not allowed; {allowed}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(group: str, config: Any, device: str, threads: Any, batch_size: Any, time_budget_s: Any,
              warmup: Any, repeats: Any, amp_dtype: Any, timeout_s: Any) -> None:
    _check(group in GROUPS, "group", group, f"choose one of {list(GROUPS)}")
    _check(isinstance(config, PVTConfig), "config", type(config).__name__, "give a pvtlab PVTConfig")
    try:
        device_type = torch.device(device).type
    except (RuntimeError, TypeError):
        device_type = None
    _check(device_type in ("cpu", "cuda"), "device", device, "choose 'cpu', 'cuda' or 'cuda:N'")
    _check(threads is None or (_is_int(threads) and threads >= 1), "threads", threads, "give an int >= 1 or None")
    _check(batch_size is None or (_is_int(batch_size) and batch_size >= 1), "batch_size", batch_size,
           "give an int >= 1 or None")
    _check(isinstance(time_budget_s, (int, float)) and time_budget_s > 0, "time_budget_s", time_budget_s,
           "give a number of seconds > 0")
    _check(_is_int(warmup) and warmup >= 0, "warmup", warmup, "give an int >= 0")
    _check(_is_int(repeats) and repeats >= 1, "repeats", repeats, "give an int >= 1")
    _check(amp_dtype is None or amp_dtype in AMP_DTYPES, "amp_dtype", amp_dtype, f"choose None or one of {AMP_DTYPES}")
    _check(timeout_s is None or (isinstance(timeout_s, (int, float)) and timeout_s > 0), "timeout_s", timeout_s,
           "give a number of seconds > 0 or None")


def measure(group: str, config: PVTConfig, resolution: ImageSize, *, device: str = "cpu", threads: int | None = None,
            batch_size: int | None = None, time_budget_s: float = 5.0, warmup: int = 2, repeats: int = 10,
            amp_dtype: str | None = None, channels_last: bool = False, compile: bool = False,
            timeout_s: float | None = None) -> dict[str, Any]:
    """Measure ``group`` ("params", "flops", "memory" or "throughput") of ``config`` at ``resolution``.

    Returns the group's cells.csv columns plus ``status`` ("ok"/"failed"), ``error`` ("" when ok) and the
    provenance columns. ``threads`` (default: the current torch setting) is fixed for the measurement and
    recorded. ``batch_size`` defaults to 8 on CPU and 64 on CUDA (memory and throughput; FLOPs and params
    are per image). ``time_budget_s``, ``warmup`` and ``repeats`` apply to each timed step kind.
    ``timeout_s`` runs the measurement in a child process that is killed when time runs out.
    """
    _validate(group, config, device, threads, batch_size, time_budget_s, warmup, repeats, amp_dtype, timeout_s)
    height, width = parse_image_size(resolution)
    threads = threads if threads is not None else torch.get_num_threads()
    record: dict[str, Any] = dict.fromkeys(GROUP_COLUMNS[group])
    record.update(status="ok", error="")
    record.update(provenance(device, threads=threads, dtype=amp_dtype or "float32"))
    job = dict(group=group, config=config, height=height, width=width, device=device, threads=threads,
               batch_size=batch_size or DEFAULT_BATCH[torch.device(device).type], time_budget_s=time_budget_s,
               warmup=warmup, repeats=repeats, amp_dtype=amp_dtype, channels_last=channels_last, compile=compile)
    own_children = group == "memory" and torch.device(device).type == "cpu"  # already one child per step kind
    try:
        if timeout_s is None or own_children:
            values = measure_group(**job, timeout_s=timeout_s)
        else:
            values = run_in_child(measure_group, job, timeout_s=timeout_s)
    except Exception as exc:  # noqa: BLE001 - every measurement failure becomes a failed row, never a crash
        record.update(status="failed", error=describe_error(exc))
    else:
        record.update(values)
    return record


def describe_error(exc: BaseException) -> str:
    """One line: what failed and why."""
    if isinstance(exc, ChildTimeout):
        text = f"timeout: {exc}"
    elif isinstance(exc, ChildError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def measure_group(group: str, config: PVTConfig, height: int, width: int, device: str, threads: int,
                  batch_size: int, time_budget_s: float, warmup: int, repeats: int, amp_dtype: str | None,
                  channels_last: bool, compile: bool, timeout_s: float | None = None) -> dict[str, Any]:
    """The group's columns; raises on failure (``measure`` turns that into a failed row)."""
    with torch_threads(threads):
        if group == "params":
            return _params(config)
        if group == "flops":
            return _flops(config, height, width)
        work = Workload(build=functools.partial(build_model, config), height=height, width=width,
                        batch_size=batch_size, in_chans=config.in_chans, num_classes=config.num_classes,
                        device=device, amp_dtype=amp_dtype, channels_last=channels_last, compile=compile)
        if group == "memory":
            return _memory(work, threads, timeout_s)
        return _throughput(work, config, warmup, repeats, time_budget_s, threads)


def _params(config: PVTConfig) -> dict[str, Any]:
    counts = count_params(build_model(config))
    return {"params_m": counts.total_m, "trainable_params_m": counts.trainable_m}


def _flops(config: PVTConfig, height: int, width: int) -> dict[str, Any]:
    traced = count_flops(build_model(config), (height, width))
    analytic = analytic_count(config, (height, width))
    return {"gmacs": traced.gmacs, "attn_gmacs": traced.attn_gmacs, "gflops": traced.flops / 1e9,
            "analytic_gmacs": analytic.gmacs, "flop_counter": traced.counter, "uncounted_ops": traced.uncounted_text()}


def _memory(work: Workload, threads: int, timeout_s: float | None) -> dict[str, Any]:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s

    def remaining() -> float | None:
        if deadline is None:
            return None
        left = deadline - time.monotonic()
        if left <= 0:
            raise ChildTimeout(f"timed out after {timeout_s:g} s")
        return left

    def run(batch: int) -> tuple:
        sized = work.with_batch(batch)
        try:
            return tuple(peak_memory(sized, kind, threads=threads, timeout_s=remaining()) for kind in ("infer", "train"))
        except ChildTimeout:
            raise ChildTimeout(f"timed out after {timeout_s:g} s") from None  # the whole limit, not the remainder

    (infer, train), batch = with_batch_backoff(run, work.batch_size)
    method = method_name(work.device)
    if infer.reserved_bytes is not None:
        method += (f" (max_memory_reserved: infer {infer.reserved_bytes / MIB:.1f} MiB,"
                   f" train {train.reserved_bytes / MIB:.1f} MiB)")
    return {"peak_mem_mib": infer.peak_bytes / MIB, "peak_mem_over_idle_mib": infer.over_idle_bytes / MIB,
            "train_peak_mem_mib": train.peak_bytes / MIB, "train_peak_mem_over_idle_mib": train.over_idle_bytes / MIB,
            "mem_method": method, "batch_size": batch}


def _throughput(work: Workload, config: PVTConfig, warmup: int, repeats: int, time_budget_s: float,
                threads: int) -> dict[str, Any]:
    def run(batch: int) -> dict:
        return measure_throughput(work.with_batch(batch), warmup=warmup, repeats=repeats, time_budget_s=time_budget_s)

    timings, batch = with_batch_backoff(run, work.batch_size)
    infer, train = timings["infer"], timings["train"]
    dtype = work.amp_dtype if (work.device_type == "cuda" and work.amp_dtype) else "float32"
    peak = matmul_peak_flops(work.device, dtype)
    macs = analytic_count(config, (work.height, work.width)).macs
    return {"infer_img_per_s_median": infer.img_per_s_median, "infer_img_per_s_iqr": infer.img_per_s_iqr,
            "infer_latency_ms_median": infer.latency_ms_median, "train_img_per_s_median": train.img_per_s_median,
            "train_img_per_s_iqr": train.img_per_s_iqr,
            "mfu_infer": mfu(macs, infer.img_per_s_median, peak),
            "mfu_train": mfu(macs, train.img_per_s_median, peak, train=True), "batch_size": batch, "threads": threads}
