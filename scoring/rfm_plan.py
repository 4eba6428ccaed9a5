"""Whether a day's RFM snapshot may start from an earlier one (plain data in, a reason out).

A snapshot of day D over window W equals the base snapshot of an earlier day B (same window
and weights) plus the completed orders of [end(B), end(D)) minus those of [start(B),
start(D)), with recency from the newest order added, only if every order the base counted
or skipped is still as it was: no order write numbered after the base's watermark touched a
time before the base's window end. Otherwise, and when the base is too far back for the
difference to be cheap, the snapshot is computed from all orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scoring.rfm import RfmConfig

MAX_GAP_DAYS = 31


@dataclass(frozen=True, slots=True)
class BaseRun:
    """A stored snapshot's run: its day, window, weights and order watermark."""

    as_of: date
    window_days: int
    weights: str
    orders_seq: int


def full_reason(
    as_of: date, config: RfmConfig, base: BaseRun | None, unsafe_writes: int
) -> str | None:
    """Why the snapshot must be computed from all orders; None: the base may be used.
    unsafe_writes: order writes after the base's watermark that touched a time before the
    base's window end."""
    if base is None:
        return "no earlier snapshot"
    if (base.window_days, base.weights) != (config.window_days, config.weights_text):
        return "the earlier snapshot has another window or weights"
    if not 0 < (as_of - base.as_of).days <= MAX_GAP_DAYS:
        return f"the earlier snapshot is not within {MAX_GAP_DAYS} days before"
    if unsafe_writes:
        return f"{unsafe_writes} order writes since changed orders the earlier snapshot counted"
    return None
