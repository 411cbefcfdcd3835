"""The counters every indicator is a ratio of. docs/indicators.md defines each one precisely.

A counter is a whole number per case (0, 1, or a count), added up over the cases of a
grid, region, department and period. Every indicator is one counter divided by another,
so any figure for any place and period is a sum over rollup rows, then one division.
"""

from __future__ import annotations

# In table order. Counted on the day the case was reported (the case's "cohort"), except
# `closures`, which is counted on the day the case was closed.
COUNTERS: tuple[str, ...] = (
    "reported",
    "accepted",
    "rejected",
    "dispatches",
    "returns",
    "dispatched",
    "extended",
    "handled",
    "handled_on_time",
    "handling_seconds",
    "verified",
    "verified_on_time",
    "verify_failures",
    "closed",
    "closed_on_time",
    "rated",
    "satisfied",
    "satisfaction_points",
    "responded",
    "open",
    "overdue",
    "closures",
)

# Counters of the department a dispatch went to (one case can count for several departments);
# every other counter goes to the case's lead department.
PER_DISPATCH = ("dispatches", "returns")

Counts = dict[str, int]


def zero() -> Counts:
    return dict.fromkeys(COUNTERS, 0)


def add(into: Counts, other: Counts, sign: int = 1) -> Counts:
    for name in COUNTERS:
        into[name] += sign * other.get(name, 0)
    return into


def is_zero(counts: Counts) -> bool:
    return not any(counts.get(name, 0) for name in COUNTERS)
