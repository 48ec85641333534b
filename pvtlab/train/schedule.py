"""Learning-rate schedule: linear warm-up, then cosine decay to ``min_factor`` of the peak (one plain function)."""

from __future__ import annotations

import math


def warmup_steps(warmup: int | float, total_steps: int) -> int:
    """``warmup`` as a step count: an int is steps, a float in [0, 1) is a fraction of ``total_steps``."""
    if isinstance(warmup, bool) or not isinstance(warmup, (int, float)) or warmup < 0:
        raise ValueError(f"warmup={warmup!r} is not allowed; give steps (int >= 0) or a fraction in [0, 1)")
    if isinstance(warmup, float):
        if warmup >= 1.0:
            raise ValueError(f"warmup={warmup!r} is not allowed; a float is a fraction of the steps, in [0, 1)")
        return int(round(warmup * total_steps))
    return min(warmup, total_steps)


def lr_factor(step: int, total_steps: int, warmup: int, min_factor: float = 0.01) -> float:
    """Multiplier of the peak learning rate for optimizer step ``step`` (0-based) of ``total_steps``.

    1. Warm-up: rises linearly, reaching 1 at the end of step ``warmup - 1`` (never 0, so step 0 learns).
    2. Cosine: falls from 1 to ``min_factor`` over the remaining steps.
    """
    if step < warmup:
        return (step + 1) / warmup
    decay_steps = max(1, total_steps - warmup)
    progress = min(1.0, (step - warmup) / decay_steps)
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))
