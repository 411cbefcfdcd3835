"""Run the planned steps in time order through the case services, with the clock set to each step.

Nothing here writes a case directly: every change is a call to `civicgrid.cases.services`,
so the demo's timelines, deadlines, overdue flags and audit chain are what the product makes.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.models import OPEN_STATES, Case, State
from civicgrid.core import clock
from civicgrid.core.errors import DomainError

from . import texts
from .history import FEEDBACK_WEIGHTS, SUMMONED, Plan, Step
from .layout import Layout
from .people import Cast

SWEEP_EVERY = dt.timedelta(hours=3)


class Replay:
    def __init__(self, layout: Layout, cast: Cast, rng: random.Random) -> None:
        self.layout, self.cast, self.rng = layout, cast, rng
        self.actions: dict[str, Callable[[Plan, Step], Any]] = {
            "report": self.report,
            "accept": self.accept,
            "reject": self.reject,
            "dispatch": self.dispatch,
            "dispatch_co": self.dispatch,
            "dispatch_wrong": self.dispatch,
            "take": self.take,
            "handled": self.handled,
            "handled_late": self.handled,
            "return": self.return_,
            "verify_ok": self.verify,
            "verify_fail": self.verify,
            "close": self.close,
            "feedback": self.feedback,
            "feedback_low": self.feedback,
            "suspend": self.suspend,
            "resume": self.resume,
            "extend": self.extend,
            "escalate": self.escalate,
            "transfer": self.transfer,
            "self_handle": self.self_handle,
            "merge": self.merge,
            "reopen": self.reopen,
        }

    def run(self, plans: list[Plan], *, until: dt.datetime) -> None:
        queue = sorted((s.at, p.index, i) for p in plans for i, s in enumerate(p.steps))
        by_index = {p.index: p for p in plans}
        next_sweep = queue[0][0] + SWEEP_EVERY if queue else until
        for at, index, i in queue:
            # The scheduler sweeps deadlines all along; replaying it flags overdue cases on time.
            while next_sweep <= at:
                if self._something_due(next_sweep):
                    with clock.frozen(next_sweep):
                        services.case_sweep_deadlines()
                next_sweep += SWEEP_EVERY
            plan = by_index[index]
            if plan.failed:
                continue
            step = plan.steps[i]
            try:
                with clock.frozen(step.at):
                    self.actions[step.kind](plan, step)
            except DomainError as e:
                plan.failed = f"{plan.scenario} / {step.kind}: {e.message}"

    @staticmethod
    def _something_due(at: dt.datetime) -> bool:
        """Skips sweeps that would flag nothing (near-due flags are set by the final sweep)."""
        open_states = [s for s in OPEN_STATES if s != State.SUSPENDED]
        return Case.objects.filter(state__in=open_states, overdue=False, deadline__lt=at).exists()

    # --- who does it -------------------------------------------------------------------------

    def _sub(self, plan: Plan, role: str) -> User:
        return self.cast.by_sub(role, self.layout.subdistrict_of(plan.grid))

    def _command(self, plan: Plan) -> User:
        """Above grid level the station head acts; otherwise the dispatcher."""
        escalated = plan.case is not None and plan.case.escalation_level != "grid"
        return self._sub(plan, "head" if escalated else "dispatcher")

    def _inspector(self, plan: Plan) -> User:
        assert plan.grid.parent is not None
        return self.cast.inspector_of(plan.grid.parent)

    def _citizen_desk(self, plan: Plan) -> User:
        if plan.source == "resident":
            return self.cast.users[plan.reporter]
        return self._sub(plan, "operator")

    def _pick(self, options: list[str]) -> str:
        return self.rng.choice(options)

    # --- the steps ---------------------------------------------------------------------------

    def report(self, plan: Plan, step: Step) -> None:
        lon, lat = plan.point
        if plan.source == "resident":
            actor = self.cast.users[plan.reporter]
        elif plan.source == "hotline":
            actor = self.cast.users["hotline"]
        elif plan.source == "patrol":
            actor = self._inspector(plan)
        else:
            actor = self._sub(plan, "operator")
        name, phone = plan.caller
        plan.case = services.case_create(
            actor=actor,
            category=plan.category,
            description=plan.description,
            lon=lon,
            lat=lat,
            urgency=plan.urgency,
            source=plan.source,
            address=plan.address,
            reporter_name=name,
            reporter_phone=phone,
            external_id=f"GD{step.at:%Y%m%d}{plan.index:05d}" if plan.source == "hotline" else "",
            extra=plan.extra,
        ).case

    def accept(self, plan: Plan, step: Step) -> None:
        desk = plan.source in ("hotline", "opinion") and plan.case.escalation_level == "grid"
        actor = self._sub(plan, "operator") if desk else self._command(plan)
        plan.case = services.case_accept(case=plan.case, actor=actor)

    def reject(self, plan: Plan, step: Step) -> None:
        plan.case = services.case_reject(
            case=plan.case, actor=self._command(plan), reason=self._pick(texts.REJECT_REASONS)
        )

    def dispatch(self, plan: Plan, step: Step) -> None:
        d = self.cast.departments
        lead = texts.WRONG_DEPARTMENT[plan.lead] if step.kind == "dispatch_wrong" else plan.lead
        co: list[str] = []
        if step.kind == "dispatch_co":
            co = SUMMONED.get(plan.category) or [self._pick([c for c in d if c != lead])]
        plan.case = services.case_dispatch(
            case=plan.case,
            lead=d[lead],
            co_handlers=[d[c] for c in co if c != lead],
            actor=self._command(plan),
            note="请相关部门协同处置（吹哨报到）。" if co else "",
        )
        plan.dispatched_to = lead

    def _handler(self, plan: Plan) -> User:
        return self.cast.handler(plan.dispatched_to or plan.lead)

    def take(self, plan: Plan, step: Step) -> None:
        plan.case = services.case_take(case=plan.case, actor=self._handler(plan))

    def handled(self, plan: Plan, step: Step) -> None:
        plan.case = services.case_report_handled(
            case=plan.case,
            actor=self._handler(plan),
            note=self._pick(texts.CATEGORY_TEXTS[plan.category][3]),
        )

    def return_(self, plan: Plan, step: Step) -> None:
        plan.case = services.case_return(
            case=plan.case, actor=self._handler(plan), reason=self._pick(texts.RETURN_REASONS)
        )

    def verify(self, plan: Plan, step: Step) -> None:
        ok = step.kind == "verify_ok"
        actor = self._inspector(plan) if self.rng.random() < 0.85 else self._sub(plan, "head")
        plan.case = services.case_verify(
            case=plan.case,
            actor=actor,
            ok=ok,
            note="现场核查已处置到位。" if ok else self._pick(texts.VERIFY_FAIL_NOTES),
        )

    def close(self, plan: Plan, step: Step) -> None:
        plan.case = services.case_close(case=plan.case, actor=self._command(plan))

    def feedback(self, plan: Plan, step: Step) -> None:
        scores = [1, 2, 3] if step.kind == "feedback_low" else list(FEEDBACK_WEIGHTS)
        score = self.rng.choices(scores, [FEEDBACK_WEIGHTS[s] for s in scores])[0]
        services.case_feedback(
            case=plan.case,
            actor=self._citizen_desk(plan),
            satisfaction=score,
            text=self._pick(texts.FEEDBACK[score]),
        )

    def suspend(self, plan: Plan, step: Step) -> None:
        plan.case = services.case_suspend(
            case=plan.case, actor=self._sub(plan, "head"), reason=self._pick(texts.SUSPEND_REASONS)
        )

    def resume(self, plan: Plan, step: Step) -> None:
        plan.case = services.case_resume(
            case=plan.case, actor=self._sub(plan, "head"), note=self._pick(texts.RESUME_NOTES)
        )

    def extend(self, plan: Plan, step: Step) -> None:
        base = max(plan.case.deadline or step.at, step.at)
        plan.case = services.case_extend(
            case=plan.case,
            actor=self._command(plan),
            until=base + dt.timedelta(days=self.rng.randint(2, 5)),
            reason=self._pick(texts.EXTEND_REASONS),
        )

    def escalate(self, plan: Plan, step: Step) -> None:
        plan.case = services.case_escalate(
            case=plan.case, actor=self._command(plan), reason=self._pick(texts.ESCALATE_REASONS)
        )

    def transfer(self, plan: Plan, step: Step) -> None:
        assert plan.transfer_to is not None
        plan.case = services.case_transfer(
            case=plan.case,
            actor=self._command(plan),
            grid_code=plan.transfer_to.code,
            reason=self._pick(texts.TRANSFER_REASONS),
        )
        plan.grid = plan.transfer_to  # the new grid's desks take it from here

    def self_handle(self, plan: Plan, step: Step) -> None:
        plan.case = services.case_self_handle(
            case=plan.case,
            actor=self._inspector(plan),
            note=self._pick(texts.CATEGORY_TEXTS[plan.category][3]),
        )

    def merge(self, plan: Plan, step: Step) -> None:
        assert plan.target is not None and plan.target.case is not None
        plan.case = services.case_merge(
            case=plan.case,
            into=plan.target.case,
            actor=self._command(plan),
            note=self._pick(texts.MERGE_NOTES),
        )

    def reopen(self, plan: Plan, step: Step) -> None:
        plan.case = services.case_reopen(
            case=plan.case,
            actor=self.cast.users[plan.reporter],
            reason=self._pick(texts.REOPEN_REASONS),
        )
