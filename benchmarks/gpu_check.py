"""GPU check: a paper-recipe training step, pvtlab vs timm on the same PVTv2 preset, plus measure's cells.

For each model (default pvt_v2_b0, pvt_v2_b2 at 224 px): both implementations train with the same step, the
one pvtlab.train runs (Mixup/CutMix + soft-target cross-entropy, timm AdamW at the recipe's scaled lr,
clipping and drop-path of that size, bf16 autocast), on a fixed random batch already on the device (this is
the model's step speed; benchmarks/loader_speed.py covers the input pipeline). Runs alternate (timm, pvtlab,
...) and the median images/s of each is reported with the ratio pvtlab/timm (goal >= 0.95) and each one's
peak CUDA memory. Then pvtlab.measure's ``throughput`` and ``memory`` cells for the same model on the same
device. One table at the end.

    python benchmarks/gpu_check.py                          # CUDA, the full check (benchmarks/gpu_check.sh)
    python benchmarks/gpu_check.py --device cpu --amp none --steps 1 --runs 1 --size 64 --batch 4 \
        --models pvt_v2_b0 --no-measure                     # CPU smoke mode (tests/test_gpu_check.py)
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import timm
import torch

import pvtlab
from pvtlab.train.distributed import current_processes
from pvtlab.train.timm_parts import build_parts
from pvtlab.train.recipe import resolve_recipe
from pvtlab.train.runtime import Runtime, resolve_speed

NUM_CLASSES = 1000


def paper_step(model: torch.nn.Module, runtime: Runtime, name: str, batch: int):
    """The paper recipe's step for ``model`` (as pvtlab.train.loop runs it), on one fixed batch."""
    recipe = resolve_recipe("paper", pvtlab.get_config(name), arguments={"batch_size": batch},
                            recipe_options=None, nproc=1)
    parts = build_parts(model, recipe, num_classes=NUM_CLASSES, steps_per_epoch=1000, total_steps=10_000)
    runner = runtime.prepare(model)

    def step(images: torch.Tensor, targets: torch.Tensor) -> None:
        images, targets = runtime.inputs(images, targets)
        images, targets = parts.mixup(images, targets)
        with runtime.autocast():
            loss = parts.loss(runner(images), targets)
        runtime.backward_step(loss, parts.optimizer, model, parts.clip_grad)
    return step, recipe


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rate(step, images: torch.Tensor, targets: torch.Tensor, steps: int, device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step(images, targets)
    _sync(device)
    return steps * images.shape[0] / (time.perf_counter() - start)


def compare(name: str, *, device: str, size: int, batch: int, steps: int, runs: int, amp: str,
            channels_last: bool) -> dict[str, Any]:
    """images/s and peak memory of the paper step, timm vs pvtlab, alternating runs."""
    torch.manual_seed(0)
    speed = resolve_speed(device, amp_dtype=amp, channels_last=channels_last, compile=False, num_workers=0, nproc=1)
    runtime = Runtime(speed, current_processes(device))
    dev = runtime.device
    recipe = resolve_recipe("paper", pvtlab.get_config(name), arguments={}, recipe_options=None, nproc=1)
    builders = {"timm": lambda: timm.create_model(name, num_classes=NUM_CLASSES, drop_path_rate=recipe.drop_path),
                "pvtlab": lambda: pvtlab.create_model(name, num_classes=NUM_CLASSES, drop_path_rate=recipe.drop_path)}
    images = torch.randn(batch, 3, size, size)
    targets = torch.randint(0, NUM_CLASSES, (batch,))
    steppers, peaks = {}, {}
    for key, build in builders.items():  # each peak counts only what its own model, optimizer and step add
        before = torch.cuda.memory_allocated(dev) if dev.type == "cuda" else 0
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        steppers[key], _ = paper_step(build(), runtime, name, batch)
        _rate(steppers[key], images, targets, max(1, steps // 2), dev)  # warm-up (and the peak)
        peaks[key] = (torch.cuda.max_memory_allocated(dev) - before) / 2**20 if dev.type == "cuda" else None
    rates: dict[str, list[float]] = {"timm": [], "pvtlab": []}
    for _ in range(runs):
        for key in ("timm", "pvtlab"):
            rates[key].append(_rate(steppers[key], images, targets, steps, dev))
    ours, theirs = statistics.median(rates["pvtlab"]), statistics.median(rates["timm"])
    return {"model": name, "timm_img_s": theirs, "pvtlab_img_s": ours, "ratio": ours / theirs,
            "timm_peak_mib": peaks["timm"], "pvtlab_peak_mib": peaks["pvtlab"], "amp": speed.amp_dtype or "float32"}


def measure_cells(name: str, *, device: str, size: int, amp: str) -> dict[str, Any]:
    from pvtlab.measure import measure

    amp_dtype = resolve_speed(device, amp_dtype=amp, channels_last=False, compile=False, num_workers=0,
                              nproc=1).amp_dtype
    config = pvtlab.get_config(name)
    timed = measure("throughput", config, size, device=device, amp_dtype=amp_dtype)
    memory = measure("memory", config, size, device=device)
    return {"infer_img_s": timed.get("infer_img_per_s_median"), "train_img_s": timed.get("train_img_per_s_median"),
            "train_peak_mib": memory.get("train_peak_mem_mib"),
            "measure_status": f"{timed.get('status')}/{memory.get('status')}"}


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    columns = ["model", "amp", "timm_img_s", "pvtlab_img_s", "ratio", "timm_peak_mib", "pvtlab_peak_mib",
               "infer_img_s", "train_img_s", "train_peak_mib", "measure_status"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--models", nargs="+", default=["pvt_v2_b0", "pvt_v2_b2"])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=128, help="per-GPU batch of the papers' recipe")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--amp", default="bfloat16", help="bfloat16, float16, none or auto")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--no-measure", action="store_true", help="skip pvtlab.measure's throughput/memory cells")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda but torch sees no CUDA device; use --device cpu for the smoke mode")
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    rows = []
    for name in args.models:
        row = compare(name, device=args.device, size=args.size, batch=args.batch, steps=args.steps, runs=args.runs,
                      amp=args.amp, channels_last=args.channels_last)
        if not args.no_measure:
            row.update(measure_cells(name, device=args.device, size=args.size, amp=args.amp))
        rows.append(row)
    gpu = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(f"torch {torch.__version__}, timm {timm.__version__}, {gpu}, {args.size} px, batch {args.batch}, "
          f"median of {args.runs} alternating runs x {args.steps} steps; ratio = pvtlab / timm (goal >= 0.95)")
    print(table(rows))
    return rows


if __name__ == "__main__":
    main()
