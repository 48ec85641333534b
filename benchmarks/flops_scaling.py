"""GMACs (total and attention) vs input size for PVTv1-Small, PVTv2-B2 and B2-Li, and how common counters miss it.

1. Closed form (pvtlab.measure.analytic_count) at every size, with the fitted log-log slope of the attention
   MACs against pixel count over the high end: SRA is quadratic in pixels (slope near 2), linear SRA linear
   (near 1). This is PVTv2's main claim (P2 sec 3.2, Fig. 4).
2. At the trace sizes: pvtlab's traced count (fvcore + SDPA handle) on the pvtlab models against the closed form
   (conv + linear + attention must be equal; LayerNorm etc. make up the rest), and on timm's PVTv2 models:
   plain fvcore (no SDPA rule) and torch's FlopCounterMode / 2 on CPU, both of which drop the attention matmuls,
   next to ours. timm has no PVTv1.
3. The eight toggle combinations at 1024 (one block per stage, small widths), traced == closed form.

    python benchmarks/flops_scaling.py [--sizes 224 320 ... 1536] [--trace-sizes 224 512 1024] [--fit-from 800]
"""

from __future__ import annotations

import argparse
import itertools
import logging
import time
import warnings

import numpy as np
import timm
import torch
from torch.utils.flop_counter import FlopCounterMode

import pvtlab
from pvtlab.measure import analytic_count, count_flops
from pvtlab.models import build_model

MODELS = ("pvt_v1_small", "pvt_v2_b2", "pvt_v2_b2_li")
SIZES = (224, 320, 448, 512, 640, 800, 1024, 1280, 1536)
CORE_OPS = ("conv", "linear", "scaled_dot_product_attention")


def slope(sizes: list[int], values: list[int]) -> float:
    """Least-squares slope of log(values) against log(pixels)."""
    pixels = np.array(sizes, dtype=float) ** 2
    return float(np.polyfit(np.log(pixels), np.log(np.array(values, dtype=float)), 1)[0])


def closed_form_table(sizes: list[int], fit_from: int) -> None:
    print("== 1. closed form: GMACs total (attention) per input side ==")
    print(f"{'size':>6} " + " ".join(f"{name:>24}" for name in MODELS))
    counts = {name: [analytic_count(pvtlab.get_config(name), s) for s in sizes] for name in MODELS}
    for i, size in enumerate(sizes):
        cells = [f"{counts[n][i].gmacs:11.2f} ({counts[n][i].attn_gmacs:9.2f})" for n in MODELS]
        print(f"{size:>6} " + " ".join(f"{c:>24}" for c in cells))
    high = [s for s in sizes if s >= fit_from]
    print(f"log-log slope vs pixels over sizes {high}:")
    for name in MODELS:
        chosen = [c for s, c in zip(sizes, counts[name]) if s >= fit_from]
        print(f"  {name:14s} attention {slope(high, [c.attn_macs for c in chosen]):.3f}   "
              f"total {slope(high, [c.macs for c in chosen]):.3f}")


def plain_fvcore_gmacs(model: torch.nn.Module, x: torch.Tensor) -> float:
    """fvcore as people call it: default rules, so SDPA counts zero."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fvcore.nn import FlopCountAnalysis

        analysis = FlopCountAnalysis(model, (x,))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        return analysis.total() / 1e9


def flop_counter_mode_gmacs(model: torch.nn.Module, x: torch.Tensor) -> float:
    """torch.utils.flop_counter on CPU, halved to MACs."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() / 2e9


def pct(value: float, reference: float) -> str:
    return f"{100 * (value - reference) / reference:+7.2f}%"


def trace_table(trace_sizes: list[int]) -> None:
    print("\n== 2. traced counts at the trace sizes (GMACs; % vs closed form) ==")
    for name in MODELS:
        config = pvtlab.get_config(name)
        model = build_model(config).eval()
        timm_model = timm.create_model(name).eval() if name in timm.list_models("pvt_v2*") else None
        for size in trace_sizes:
            analytic = analytic_count(config, size)
            start = time.perf_counter()
            ours = count_flops(model, size)
            core = sum(ours.by_op.get(op, 0) for op in CORE_OPS)
            line = (f"{name:14s} {size:5d}  closed form {analytic.gmacs:8.2f}  pvtlab traced {ours.gmacs:8.2f} "
                    f"({pct(ours.gmacs, analytic.gmacs)}; conv+linear+attn {'==' if core == analytic.macs else '!='} "
                    f"closed form) [{time.perf_counter() - start:.1f} s]")
            print(line)
            if timm_model is None:
                continue
            x = torch.randn(1, 3, size, size)
            on_timm = count_flops(timm_model, size, in_chans=3)
            fvcore_plain = plain_fvcore_gmacs(timm_model, x)
            fcm = flop_counter_mode_gmacs(timm_model, x)
            print(f"{'':14s} {'':5s}  timm: ours {on_timm.gmacs:8.2f} ({pct(on_timm.gmacs, analytic.gmacs)})  "
                  f"plain fvcore {fvcore_plain:8.2f} ({pct(fvcore_plain, analytic.gmacs)})  "
                  f"FlopCounterMode/2 {fcm:8.2f} ({pct(fcm, analytic.gmacs)})")


def toggle_table(size: int) -> None:
    print(f"\n== 3. the 8 toggle combinations at {size}, one block per stage, small widths: traced vs closed form ==")
    tiny = dict(embed_dims=(16, 32, 64, 128), num_heads=(1, 1, 2, 4), depths=(1, 1, 1, 1))
    for base_name, base in (("v1_small", pvtlab.get_config("pvt_v1_small", **tiny)),
                            ("v2_b2", pvtlab.get_config("pvt_v2_b2", ffn_relu=True, **tiny))):
        for patch_embed, position, attention in itertools.product(("non_overlap", "overlap"),
                                                                  ("pos_embed", "conv_ffn"), ("sra", "linear_sra")):
            config = base.replace(patch_embed=patch_embed, pos_embed=position == "pos_embed",
                                  ffn="mlp" if position == "pos_embed" else "conv_ffn", attention=attention)
            traced = count_flops(build_model(config), size)
            analytic = analytic_count(config, size)
            core = sum(traced.by_op.get(op, 0) for op in CORE_OPS)
            print(f"{base_name:8s} {patch_embed:11s} {position:9s} {attention:10s} closed form {analytic.gmacs:7.3f} "
                  f"traced {traced.gmacs:7.3f} core {'==' if core == analytic.macs else '!='} "
                  f"extra {pct(traced.gmacs, analytic.gmacs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--trace-sizes", type=int, nargs="*", default=[224, 512, 1024])
    parser.add_argument("--fit-from", type=int, default=800, help="smallest size in the slope fit")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    closed_form_table(args.sizes, args.fit_from)
    if args.trace_sizes:
        trace_table(args.trace_sizes)
        toggle_table(max(args.trace_sizes))


if __name__ == "__main__":
    main()
