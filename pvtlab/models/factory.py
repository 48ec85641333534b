"""The ``device``/``dtype`` factory arguments every pvtlab module takes (as torch's and timm's layers do)."""

from __future__ import annotations

from typing import Union

import torch

DeviceLike = Union[torch.device, str, None]
