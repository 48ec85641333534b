"""pvtlab vs timm on the same PVTv2 preset and weights: images/s for inference and for a training step.

Runs alternate (timm, pvtlab, timm, ...) so drift in machine load hits both; each run is timed after warm-up and the
median over runs is reported with the ratio pvtlab/timm (goal: >= 1.0, i.e. not slower than timm).

    python benchmarks/model_speed.py [--models pvt_v2_b0 pvt_v2_b2 pvt_v2_b2_li] [--threads 2] [--batch 8] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import timm
import torch

import pvtlab


def _infer_step(model: torch.nn.Module, x: torch.Tensor) -> None:
    with torch.inference_mode():
        model(x)


def _make_train_step(model: torch.nn.Module):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step(m: torch.nn.Module, x: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        m(x).logsumexp(dim=1).mean().backward()
        opt.step()
    return step


def _images_per_s(step, model, x: torch.Tensor, iters: int) -> float:
    start = time.perf_counter()
    for _ in range(iters):
        step(model, x)
    return iters * x.shape[0] / (time.perf_counter() - start)


def compare(name: str, batch: int, runs: int, iters: int, size: int) -> dict[str, float]:
    torch.manual_seed(0)
    reference = timm.create_model(name, pretrained=False)
    ours = pvtlab.create_model(name)
    pvtlab.load_weights(ours, reference.state_dict())
    x = torch.randn(batch, 3, size, size)
    result = {}
    for mode in ("infer", "train"):
        models = {"timm": reference.train(mode == "train"), "pvtlab": ours.train(mode == "train")}
        steps = {k: (_infer_step if mode == "infer" else _make_train_step(m)) for k, m in models.items()}
        for k, m in models.items():  # warm-up
            _images_per_s(steps[k], m, x, 2)
        rates: dict[str, list[float]] = {"timm": [], "pvtlab": []}
        for _ in range(runs):
            for k in ("timm", "pvtlab"):
                rates[k].append(_images_per_s(steps[k], models[k], x, iters))
        t, p = statistics.median(rates["timm"]), statistics.median(rates["pvtlab"])
        result[f"{mode}_timm"], result[f"{mode}_pvtlab"], result[f"{mode}_ratio"] = t, p, p / t
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["pvt_v2_b0", "pvt_v2_b2", "pvt_v2_b2_li"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--iters", type=int, default=2)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, timm {timm.__version__}, threads {args.threads}, batch {args.batch}, "
          f"{args.size}x{args.size}, median of {args.runs} alternating runs x {args.iters} steps")
    print(f"{'model':<14}{'infer timm':>12}{'infer ours':>12}{'ratio':>8}{'train timm':>12}{'train ours':>12}{'ratio':>8}")
    for name in args.models:
        r = compare(name, args.batch, args.runs, args.iters, args.size)
        print(f"{name:<14}{r['infer_timm']:>12.1f}{r['infer_pvtlab']:>12.1f}{r['infer_ratio']:>8.3f}"
              f"{r['train_timm']:>12.1f}{r['train_pvtlab']:>12.1f}{r['train_ratio']:>8.3f}")
    print("(images/s; ratio = pvtlab / timm)")


if __name__ == "__main__":
    main()
