"""Sixty days of cases, planned: what happens to each case, where, by whom and when.

A plan is a list of timed steps. `replay.py` runs every step of every plan in time order
through the case services, so the timeline, deadlines and audit trail are the ones the real
code would have written.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from . import texts
from .layout import Block, Layout, UnitCell

DAY = dt.timedelta(days=1)
HISTORY_DAYS = 60

# name: (weight, when it ends, steps after the report). "past" plans end before today; "now"
# plans are still open and recent; "stale" plans stopped days ago, so they are overdue.
SCENARIOS: dict[str, tuple[int, str, list[str]]] = {
    "closed_rated": (30, "past", ["accept", "dispatch", "take", "handled", "verify_ok", "close", "feedback"]),
    "closed": (10, "past", ["accept", "dispatch", "take", "handled", "verify_ok", "close"]),
    "closed_late": (4, "past", ["accept", "dispatch", "take", "handled_late", "verify_ok", "close", "feedback_low"]),
    "summoned": (4, "past", ["accept", "dispatch_co", "take", "handled", "verify_ok", "close", "feedback"]),
    "reported": (4, "now", []),
    "accepted": (3, "now", ["accept"]),
    "dispatched": (4, "now", ["accept", "dispatch"]),
    "in_progress": (6, "now", ["accept", "dispatch", "take"]),
    "handled": (3, "now", ["accept", "dispatch", "take", "handled"]),
    "verified": (2, "now", ["accept", "dispatch", "take", "handled", "verify_ok"]),
    "rejected": (5, "past", ["reject"]),
    "returned": (2, "now", ["accept", "dispatch_wrong", "return"]),
    "redispatched": (3, "past", ["accept", "dispatch_wrong", "return", "dispatch", "take", "handled", "verify_ok", "close", "feedback"]),
    "rework": (2, "now", ["accept", "dispatch", "take", "handled", "verify_fail"]),
    "rework_closed": (3, "past", ["accept", "dispatch", "take", "handled", "verify_fail", "handled", "verify_ok", "close", "feedback"]),
    "suspended": (2, "now", ["accept", "dispatch", "suspend"]),
    "resumed": (2, "past", ["accept", "dispatch", "suspend", "resume", "take", "handled", "verify_ok", "close"]),
    "merged": (4, "past", ["merge"]),
    "overdue_dispatched": (3, "stale", ["accept", "dispatch"]),
    "overdue_in_progress": (3, "stale", ["accept", "dispatch", "take"]),
    "escalated": (2, "now", ["accept", "escalate", "dispatch_co", "take"]),
    "escalated_closed": (2, "past", ["accept", "escalate", "dispatch_co", "take", "handled", "verify_ok", "close"]),
    "escalated_district": (1, "past", ["accept", "escalate", "escalate", "dispatch_co", "take", "handled", "verify_ok", "close", "feedback"]),
    "transferred": (3, "past", ["transfer", "accept", "dispatch", "take", "handled", "verify_ok", "close"]),
    "self_handled": (8, "past", ["self_handle"]),
    "extended": (2, "now", ["accept", "dispatch", "take", "extend"]),
    "reopened": (2, "now", ["accept", "dispatch", "take", "handled", "verify_ok", "close", "reopen", "dispatch", "take"]),
}  # fmt: skip

# Minutes from the previous step: (least, most).
DELAYS: dict[str, tuple[float, float]] = {
    "accept": (5, 120), "reject": (10, 180), "dispatch": (5, 90), "dispatch_co": (10, 120),
    "dispatch_wrong": (5, 90), "take": (10, 240), "handled": (45, 900),
    "handled_late": (5 * 1440, 9 * 1440), "verify_ok": (30, 600), "verify_fail": (30, 600),
    "close": (5, 120), "feedback": (60, 2880), "feedback_low": (60, 2880), "return": (30, 480),
    "suspend": (60, 1440), "resume": (1440, 5760), "merge": (20, 150), "transfer": (10, 120),
    "escalate": (30, 480), "self_handle": (5, 40), "extend": (120, 1200), "reopen": (600, 4000),
}  # fmt: skip

# Categories whose deadline is hours, not days (see data/sla_policies.json): handled sooner.
QUICK = {"0101", "0503", "0801", "0803", "5101", "0401", "0402", "0403", "0404"}
SELF_HANDLED = ["0101", "0104", "0201", "0501", "0502", "0503", "0504", "0802", "5302"]
SUMMONED = {"0701": ["FG", "WY"], "0702": ["ZF", "XF"], "0801": ["WY"], "0302": ["CG"]}
FEEDBACK_WEIGHTS = {5: 55, 4: 25, 3: 10, 2: 6, 1: 4}


@dataclass
class Step:
    at: dt.datetime
    kind: str


@dataclass
class Plan:
    index: int
    scenario: str
    category: str
    urgency: str
    source: str
    grid: Block  # where the case is now (a transfer moves it)
    cell: UnitCell
    uv: tuple[float, float]
    address: str
    description: str
    lead: str  # department code of the right lead department
    dispatched_to: str = ""  # department code of the current lead, once dispatched
    steps: list[Step] = field(default_factory=list)
    reporter: str = ""  # username of a resident reporter
    caller: tuple[str, str] = ("", "")  # hotline caller's name and phone
    extra: dict[str, Any] = field(default_factory=dict)
    target: Plan | None = None  # the case a duplicate is merged into
    transfer_to: Block | None = None
    case: Any = None  # the Case once reported
    failed: str = ""

    @property
    def point(self) -> tuple[float, float]:
        return self.cell.point(*self.uv)


class Planner:
    def __init__(
        self, layout: Layout, departments: dict[str, str], rng: random.Random, now: dt.datetime
    ):
        self.layout, self.departments, self.rng, self.now = layout, departments, rng, now
        self.codes = list(texts.CATEGORY_TEXTS)
        self.weights = [texts.CATEGORY_TEXTS[c][0] for c in self.codes]
        # Recurring hot spots: each category comes back to a couple of cells.
        self.hot = {
            code: [rng.choice(rng.choice(layout.grids).cells) for _ in range(2)]
            for code in self.codes
        }
        self.places = {
            g.code: (
                rng.sample(self._sub(g)[3], 3),
                rng.sample(self._sub(g)[4], 2),
            )
            for g in layout.grids
        }
        self.plans: list[Plan] = []

    def _sub(self, grid: Block) -> tuple:
        key = self.layout.subdistrict_of(grid).key
        return next(s for s in texts.SUBDISTRICTS if s[2] == key)

    def plan(self, count: int) -> list[Plan]:
        names = list(SCENARIOS)
        for name in names:  # every scenario at least once, then by weight
            self._add(name)
        weights = [SCENARIOS[n][0] for n in names]
        while len(self.plans) < count:
            self._add(self.rng.choices(names, weights)[0])
        return self.plans

    def _category(self, scenario: str) -> str:
        if scenario == "self_handled":
            return self.rng.choice(SELF_HANDLED)
        if scenario == "summoned":
            return self.rng.choice(list(SUMMONED))
        return self.rng.choices(self.codes, self.weights)[0]

    def _new(self, scenario: str, *, like: Plan | None = None) -> Plan:
        rng = self.rng
        code = like.category if like else self._category(scenario)
        if like is not None:
            cell, grid = like.cell, like.grid
            uv = tuple(min(0.9, max(0.1, x + rng.uniform(-0.08, 0.08))) for x in like.uv)
        else:
            if rng.random() < 0.35:
                cell = rng.choice(self.hot[code])
            else:
                cell = rng.choice(rng.choice(self.layout.grids).cells)
            grid = self.layout.grid_at[(cell.row, cell.col)]
            uv = (rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9))
        urgent = code.startswith("04")
        urgency = rng.choices(
            ["normal", "urgent", "critical"], [30, 50, 20] if urgent else [93, 6, 1]
        )[0]
        address, loc = self._place(grid, code)
        if scenario == "self_handled":
            source = "patrol"
        elif scenario in ("reopened",) or "feedback" in " ".join(SCENARIOS[scenario][2]):
            source = rng.choices(["resident", "hotline"], [50, 50])[0]
        else:
            source = rng.choices(["resident", "hotline", "patrol", "opinion"], [30, 30, 35, 5])[0]
        if scenario == "reopened":
            source = "resident"
        plan = Plan(
            index=len(self.plans),
            scenario=scenario,
            category=code,
            urgency=urgency,
            source=source,
            grid=grid,
            cell=cell,
            uv=(uv[0], uv[1]),
            address=address,
            description=rng.choice(texts.CATEGORY_TEXTS[code][2]).format(loc=loc),
            lead=self.departments[code],
        )
        if source == "resident":
            plan.reporter = f"resident{rng.randint(1, 3)}"
        if source == "hotline":
            plan.caller = (rng.choice(texts.CALLERS), f"13{rng.randrange(10**9):09d}")
        plan.extra = {q: rng.choice(v) for q, v in texts.EXTRA_ANSWERS.get(code, {}).items()}
        self.plans.append(plan)
        return plan

    def _place(self, grid: Block, code: str) -> tuple[str, str]:
        rng = self.rng
        roads, compounds = self.places[grid.code]
        if texts.CATEGORY_TEXTS[code][1] == "home":
            place = f"{rng.choice(compounds)}{rng.randint(1, 24)}号"
            return place, place + "楼"
        road = rng.choice(roads)
        address = f"{road}{rng.randint(1, 400)}号"
        cross = rng.choice([r for r in roads if r != road])
        loc = rng.choice([f"{address}门口", f"{address}附近", f"{road}近{cross}"])
        return address, loc

    def _add(self, scenario: str) -> None:
        _weight, when, kinds = SCENARIOS[scenario]
        if scenario == "merged":
            target = self._new("closed_rated")
            self._schedule(target, "past", [*SCENARIOS["closed_rated"][2]], slow=True)
            dup = self._new(scenario, like=target)
            dup.target = target
            start = target.steps[0].at + dt.timedelta(minutes=self.rng.uniform(30, 300))
            self._schedule(dup, "fixed", kinds, start=start)
            return
        plan = self._new(scenario)
        if scenario == "transferred":
            plan.transfer_to = self._neighbour(plan)
        self._schedule(plan, when, kinds)

    def _neighbour(self, plan: Plan) -> Block:
        """Move the report to a cell on the grid's edge, and return the grid across that edge."""
        rng = self.rng
        edge = []
        for cell in plan.grid.cells:
            for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
                other = self.layout.grid_at.get((cell.row + dr, cell.col + dc))
                if other is not None and other is not plan.grid:
                    edge.append((cell, other))
        cell, other = rng.choice(edge)
        plan.cell = cell
        return other

    def _report_time(self, day: dt.datetime, patrol: bool) -> dt.datetime:
        local = timezone.localtime(day).replace(hour=0, minute=0, second=0, microsecond=0)
        hours = self.rng.uniform(8.5, 17.5) if patrol else self.rng.uniform(7, 22.5)
        return local + dt.timedelta(hours=hours)

    def _staff_time(self, at: dt.datetime) -> dt.datetime:
        """Desks work 8:00-20:00 every day; later steps wait for the next morning."""
        local = timezone.localtime(at)
        if local.hour < 8:
            return local.replace(hour=8, minute=self.rng.randint(0, 59))
        if local.hour >= 20:
            return (local + DAY).replace(hour=8, minute=self.rng.randint(0, 59))
        return local

    def _schedule(
        self,
        plan: Plan,
        when: str,
        kinds: list[str],
        *,
        slow: bool = False,
        start: dt.datetime | None = None,
    ) -> None:
        rng, now = self.rng, self.now
        if start is None:
            days = {"past": (2, HISTORY_DAYS - 10), "now": (0.05, 1.5), "stale": (6, 25)}[when]
            start = self._report_time(now - rng.uniform(*days) * DAY, plan.source == "patrol")
            if when == "now" and start > now:
                start -= DAY
        at = start
        steps = [Step(at, "report")]
        quick = plan.urgency != "normal" or plan.category in QUICK
        for kind in kinds:
            lo, hi = DELAYS[kind]
            if kind in ("take", "handled") and quick:
                lo, hi = lo / 3, hi / 6
            if kind == "handled" and slow:
                lo, hi = 1440, 2880
            at = self._staff_time(at + dt.timedelta(minutes=rng.uniform(lo, hi)))
            steps.append(Step(at, kind))
        latest = now - dt.timedelta(minutes=10)
        if steps[-1].at > latest and when != "fixed":
            # Whole days keep every step at its time of day.
            shift = math.ceil((steps[-1].at - latest) / DAY) * DAY
            steps = [Step(s.at - shift, s.kind) for s in steps]
        plan.steps = steps
