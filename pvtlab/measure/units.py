"""Unit conversions shared by the traced and the closed-form counts (one MAC = one multiply-add = 2 FLOPs)."""

from __future__ import annotations


class MacUnits:
    """Derived units for any record with integer ``macs`` and ``attn_macs`` fields."""

    macs: int
    attn_macs: int

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9

    @property
    def attn_gmacs(self) -> float:
        return self.attn_macs / 1e9
