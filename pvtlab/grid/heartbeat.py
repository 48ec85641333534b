"""How long a running cell may go without a heartbeat (SQLite/PostgreSQL storage) before it counts as dead."""

from __future__ import annotations

GRACE_S = 60  # --grace-s default: seconds without a heartbeat, by the database's clock


def heartbeat_s(grace_s: int) -> int:
    """Heartbeats per grace period: four, at least one a second (Optuna takes whole seconds)."""
    return max(1, grace_s // 4)
