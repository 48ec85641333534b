"""The autocast precisions a measurement or a training run may use, by the name a spec and a row give them."""

from __future__ import annotations

import torch

AMP_DTYPES: dict[str, torch.dtype] = {"bfloat16": torch.bfloat16, "float16": torch.float16}
