"""Every default a measurement or training job takes when nobody gives a value: the one place they live.

Functions (``measure``, ``measure_block``, ``run_accuracy``) use these constants as their keyword defaults and
grid expansion resolves a cell's job from them, so a spec that spells a default out and one that leaves it out
build the same job and the same cell id, and changing a value here gives new ids (old rows go stale instead
of passing as measured with the new value). The training recipes' own values (lr, warm-up, augmentation, ...)
live in ``pvtlab.train.recipe`` as data (``QUICK``, ``PAPER``); only the choice of recipe is a default here.
"""

from __future__ import annotations

# --- measurement (memory and throughput cells; params and FLOPs take no options) ---
# Images per step when batch_size is None, by device type. CPU 8: a B2 step at 512 px stays within seconds on
# a laptop; CUDA 64 fills a GPU better.
BATCH_BY_DEVICE = {"cpu": 8, "cuda": 64}
TIME_BUDGET_S = 5.0  # timed seconds per step kind (throughput), before ``repeats`` runs out
TIMING_WARMUP = 2  # untimed steps before timing
REPEATS = 10  # timed steps per step kind (paired blocks: interleaved rounds)
MEASURE_AMP_DTYPE: str | None = None  # measurements run in float32 unless asked
CHANNELS_LAST = False
COMPILE = False
TIMEOUT_S: float | None = None  # a measurement in a child process killed after this many seconds; None: in process

# --- training (accuracy cells) ---
RECIPE = "quick"  # pvtlab.train.recipe.RECIPES
TRAIN_AMP_DTYPE = "auto"  # bfloat16 on CUDA, float32 on CPU
TRAIN_COMPILE: bool | str = False
NUM_WORKERS: int | None = None  # loader processes: 0 on CPU, up to 8 on CUDA (resolved by train/runtime.py)
NPROC_PER_NODE = 1
CHECKPOINT_EVERY_S = 600.0

# --- a spec's accuracy section ---
ACCURACY_MODEL = "pvt_nano"
ACCURACY_IMAGE_SIZE = 48
ACCURACY_SEEDS = (0, 1, 2)


def default_batch(device: str) -> int:
    """The batch of a memory or throughput measurement on ``device`` when none is given."""
    kind = device.split(":", 1)[0]
    return BATCH_BY_DEVICE[kind]
