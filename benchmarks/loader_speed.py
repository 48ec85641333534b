"""Is the input pipeline the bottleneck? Loader images/s alone vs training-step images/s, same settings.

Writes a small ImageFolder of JPEGs to a temp dir, then measures
1. the paper recipe's training loader alone (decode + RandAugment + erasing + collate, ``--workers`` processes,
   the loader pvtlab.train uses), and
2. the paper recipe's training step on a batch already in memory (benchmarks/gpu_check.py's step),
and prints both and loader/step: above 1 the loader keeps up; below 1 training waits for data (add workers).

    python benchmarks/loader_speed.py [--device cpu] [--size 64] [--batch 32] [--workers 0] [--model pvt_nano]
    python benchmarks/loader_speed.py --device cuda --size 224 --batch 128 --workers 8 --model pvt_v2_b2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import pvtlab
from gpu_check import NUM_CLASSES, paper_step
from pvtlab.data import build_datasets
from pvtlab.train.augment import use_recipe_transforms
from pvtlab.train.distributed import current_processes
from pvtlab.train.loader import epoch_batches, train_loader
from pvtlab.train.recipe import resolve_recipe
from pvtlab.train.runtime import Runtime, resolve_speed


def write_jpegs(root: Path, classes: int, per_class: int, side: int) -> None:
    """Noise JPEGs at ImageNet-like sizes (decode cost included), ``root/<class>/<n>.jpg``."""
    rng = np.random.default_rng(0)
    for c in range(classes):
        (root / f"c{c}").mkdir(parents=True)
        for n in range(per_class):
            pixels = rng.integers(0, 256, size=(side, side * 4 // 3, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / f"c{c}" / f"{n}.jpg", quality=90)


def loader_rate(loader, batches: int) -> float:
    seen, start = 0, time.perf_counter()
    for i, (images, _) in enumerate(epoch_batches(loader, 0, 0)):
        seen += len(images)
        if i + 1 == batches:
            break
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="pvt_nano")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--batches", type=int, default=8, help="timed batches (loader) and steps (training)")
    parser.add_argument("--side", type=int, default=0, help="stored image side in px (default: 1.15 x --size)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = pvtlab.get_config(args.model)
    recipe = resolve_recipe("paper", config, arguments={"batch_size": args.batch}, recipe_options=None, nproc=1)
    speed = resolve_speed(args.device, amp_dtype="auto", channels_last=False, compile=False,
                          num_workers=args.workers, nproc=1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "images"
        write_jpegs(root, classes=4, per_class=args.batch * (args.batches + 1) // 3 + 1,
                    side=args.side or int(args.size * 1.15))
        train_set, val_set, _ = build_datasets({"name": "imagefolder", "root": str(root)}, args.size, 0)
        use_recipe_transforms(recipe, args.size, train_set, val_set)
        loader = train_loader(train_set, batch_size=args.batch, seed=0, world=1, rank=0,
                              num_workers=speed.num_workers, pin_memory=speed.pin_memory,
                              persistent_workers=speed.persistent_workers)
        loader_rate(loader, 1)  # warm-up (worker start-up)
        loaded = loader_rate(loader, args.batches)
    runtime = Runtime(speed, current_processes(args.device))
    model = pvtlab.create_model(args.model, num_classes=NUM_CLASSES, drop_path_rate=recipe.drop_path)
    step, _ = paper_step(model, runtime, args.model, args.batch)
    images, targets = torch.randn(args.batch, 3, args.size, args.size), torch.randint(0, NUM_CLASSES, (args.batch,))
    step(images, targets)  # warm-up
    if runtime.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.batches):
        step(images, targets)
    if runtime.device.type == "cuda":
        torch.cuda.synchronize()
    trained = args.batches * args.batch / (time.perf_counter() - start)
    print(f"{args.model} {args.size} px, batch {args.batch}, {speed.num_workers} loader workers, "
          f"torch threads {torch.get_num_threads()}, {args.device} ({speed.amp_dtype or 'float32'})")
    print(f"loader alone      {loaded:10.1f} images/s")
    print(f"training step     {trained:10.1f} images/s")
    print(f"loader / step     {loaded / trained:10.2f}  ({'keeps up' if loaded >= trained else 'BOTTLENECK'})")
    if speed.num_workers == 0:  # loading and training then take turns in one process
        print(f"both in turn      {1 / (1 / loaded + 1 / trained):10.1f} images/s (0 workers: add --workers)")


if __name__ == "__main__":
    main()
