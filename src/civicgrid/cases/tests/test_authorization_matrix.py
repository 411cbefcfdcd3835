"""Every (state, action, role, inside/outside jurisdiction) either does the documented thing or is refused.

The expected roles are written out here by hand, apart from workflow.TRANSITIONS, so a change
to the table that widens or narrows who may act fails this test until someone agrees to it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from civicgrid.cases import services
from civicgrid.cases.models import Case, State
from civicgrid.cases.workflow import TRANSITIONS, Action
from civicgrid.core.errors import DomainError
from civicgrid.core.testing import INSIDE

# Who may do what (for a case in their jurisdiction, in a state where the action applies).
EXPECTED_ROLES = {
    Action.ACCEPT: {"operator", "dispatcher", "station_head"},
    Action.REJECT: {"operator", "dispatcher", "station_head"},
    Action.MERGE: {"dispatcher", "station_head"},
    Action.DISPATCH: {"dispatcher", "station_head"},
    Action.TAKE: {"department_handler"},
    Action.REPORT_HANDLED: {"department_handler"},
    Action.RETURN: {"department_handler"},
    Action.VERIFY_OK: {"inspector", "station_head"},
    Action.VERIFY_FAIL: {"inspector", "station_head"},
    Action.CLOSE: {"operator", "dispatcher", "station_head"},
    Action.REOPEN: {"dispatcher", "station_head", "resident"},
    Action.TRANSFER: {"dispatcher", "station_head"},
    Action.ESCALATE: {"inspector", "dispatcher", "station_head"},
    Action.SELF_HANDLE: {"inspector"},
    Action.EXTEND: {"dispatcher", "station_head"},
    Action.SUSPEND: {"dispatcher", "station_head"},
    Action.RESUME: {"dispatcher", "station_head"},
    Action.FEEDBACK: {"resident", "operator"},
    Action.SUPPORT: {"resident"},
}
OPEN = {
    "reported",
    "accepted",
    "dispatched",
    "in_progress",
    "handled",
    "verified",
    "returned",
    "rework",
}
EXPECTED_STATES = {
    Action.ACCEPT: {"reported"},
    Action.REJECT: {"reported"},
    Action.MERGE: {"reported", "accepted", "returned"},
    Action.DISPATCH: {"accepted", "returned"},
    Action.TAKE: {"dispatched", "rework"},
    Action.REPORT_HANDLED: {"in_progress", "rework"},
    Action.RETURN: {"dispatched", "in_progress"},
    Action.VERIFY_OK: {"handled"},
    Action.VERIFY_FAIL: {"handled"},
    Action.CLOSE: {"verified"},
    Action.REOPEN: {"closed"},
    Action.TRANSFER: {"reported", "accepted", "returned"},
    Action.ESCALATE: {"reported", "accepted", "returned", "dispatched", "in_progress", "rework"},
    Action.SELF_HANDLE: {"reported"},
    Action.EXTEND: {"dispatched", "in_progress", "rework"},
    Action.SUSPEND: {"accepted", "returned", "dispatched", "in_progress", "rework"},
    Action.RESUME: {"suspended"},
    Action.FEEDBACK: {"closed"},
    Action.SUPPORT: OPEN | {"suspended"},
}
# Users inside the jurisdiction of a case in grid G1 (subdistrict S1), and outside it.
INSIDE_USERS = [
    "operator",
    "dispatcher",
    "head",
    "inspector",
    "handler",
    "ops",
    "resident",
    "resident2",
    "admin",
]
OUTSIDE_USERS = ["operator2", "dispatcher2", "head2", "inspector3", "handler_fire"]


def test_the_hand_written_table_matches_the_workflow_table():
    for action in EXPECTED_ROLES:
        states = {s for (s, a) in TRANSITIONS if a == action}
        assert states == EXPECTED_STATES[action], action
        roles = set().union(*(r.roles for (s, a), r in TRANSITIONS.items() if a == action))
        assert roles == EXPECTED_ROLES[action], action


def drive(world, state: str) -> Case:
    """A case in G1 reported by `resident`, brought to `state` through the services."""
    w, d = world, world.user("dispatcher")
    lon, lat = INSIDE["G1"]
    case = services.case_create(
        actor=w.user("resident"), category="0101", description="d", lon=lon, lat=lat
    ).case
    if state == "reported":
        return case
    if state == "merged":
        target = services.case_create(
            actor=w.user("operator"), category="0101", description="t", lon=lon, lat=lat
        )
        return services.case_merge(case=case, into=target.case, actor=d)
    if state == "rejected":
        return services.case_reject(case=case, actor=d, reason="dup")
    case = services.case_accept(case=case, actor=d)
    if state == "accepted":
        return case
    if state == "suspended":
        return services.case_suspend(case=case, actor=d, reason="wait")
    case = services.case_dispatch(case=case, lead=w.departments["CG"], actor=d)
    if state == "dispatched":
        return case
    if state == "returned":
        return services.case_return(case=case, actor=w.user("handler"), reason="not ours")
    case = services.case_take(case=case, actor=w.user("handler"))
    if state == "in_progress":
        return case
    case = services.case_report_handled(case=case, actor=w.user("handler"), note="done")
    if state == "handled":
        return case
    if state == "rework":
        return services.case_verify(
            case=case, actor=w.user("inspector"), ok=False, note="still dirty"
        )
    case = services.case_verify(case=case, actor=w.user("inspector"), ok=True)
    if state == "verified":
        return case
    return services.case_close(case=case, actor=d)


def perform(world, action: Action, case: Case, actor):
    w = world
    lon, lat = INSIDE["G1"]
    match action:
        case Action.ACCEPT:
            return services.case_accept(case=case, actor=actor)
        case Action.REJECT:
            return services.case_reject(case=case, actor=actor, reason="r")
        case Action.MERGE:
            target = services.case_create(
                actor=w.user("operator"), category="0101", description="t", lon=lon, lat=lat
            )
            return services.case_merge(case=case, into=target.case, actor=actor)
        case Action.DISPATCH:
            return services.case_dispatch(case=case, lead=w.departments["CG"], actor=actor)
        case Action.TAKE:
            return services.case_take(case=case, actor=actor)
        case Action.REPORT_HANDLED:
            return services.case_report_handled(case=case, actor=actor, note="n")
        case Action.RETURN:
            return services.case_return(case=case, actor=actor, reason="r")
        case Action.VERIFY_OK:
            return services.case_verify(case=case, actor=actor, ok=True)
        case Action.VERIFY_FAIL:
            return services.case_verify(case=case, actor=actor, ok=False, note="n")
        case Action.CLOSE:
            return services.case_close(case=case, actor=actor)
        case Action.REOPEN:
            return services.case_reopen(case=case, actor=actor, reason="r")
        case Action.TRANSFER:
            return services.case_transfer(case=case, actor=actor, grid_code="G2", reason="r")
        case Action.ESCALATE:
            return services.case_escalate(case=case, actor=actor, reason="r")
        case Action.SELF_HANDLE:
            return services.case_self_handle(case=case, actor=actor, note="n")
        case Action.EXTEND:
            until = (case.deadline or dt.datetime.now(dt.UTC)) + dt.timedelta(days=3)
            return services.case_extend(case=case, actor=actor, until=until, reason="r")
        case Action.SUSPEND:
            return services.case_suspend(case=case, actor=actor, reason="r")
        case Action.RESUME:
            return services.case_resume(case=case, actor=actor)
        case Action.FEEDBACK:
            return services.case_feedback(case=case, actor=actor, satisfaction=4)
        case Action.SUPPORT:
            return services.case_support(case=case, actor=actor)
    raise AssertionError(action)


def expected_allowed(action: Action, state: str, username: str, user) -> bool:
    if state not in EXPECTED_STATES[action] or user.role not in EXPECTED_ROLES[action]:
        return False
    if username in OUTSIDE_USERS:
        return False
    if action in (Action.FEEDBACK, Action.REOPEN) and user.role == "resident":
        return username == "resident"  # only the reporter
    if action == Action.SUPPORT:
        return username != "resident"  # the reporter already follows
    return True


EXPECTED_TARGET = {
    Action.ACCEPT: "accepted",
    Action.REJECT: "rejected",
    Action.MERGE: "merged",
    Action.DISPATCH: "dispatched",
    Action.TAKE: "in_progress",
    Action.REPORT_HANDLED: "handled",
    Action.RETURN: "returned",
    Action.VERIFY_OK: "verified",
    Action.VERIFY_FAIL: "rework",
    Action.CLOSE: "closed",
    Action.REOPEN: "accepted",
    Action.TRANSFER: "reported",
    Action.SELF_HANDLE: "closed",
    Action.SUSPEND: "suspended",
}


@pytest.mark.parametrize("state", [s.value for s in State])
def test_every_action_and_role_in_this_state(world, state):
    case = drive(world, state)
    assert case.state == state
    checked = 0
    for action in EXPECTED_ROLES:
        for username in INSIDE_USERS + OUTSIDE_USERS:
            user = world.user(username)
            fresh = Case.objects.get(pk=case.pk)
            events_before = fresh.timeline.count()
            allowed = expected_allowed(action, state, username, user)
            with transaction.atomic():
                try:
                    perform(world, action, fresh, user)
                    outcome = None
                except DomainError as e:
                    outcome = e
                after = Case.objects.get(pk=case.pk)
                events_after = after.timeline.count()
                transaction.set_rollback(True)
            label = f"{state} {action} by {username}"
            if allowed:
                assert outcome is None, f"{label} was refused: {outcome and outcome.message}"
                expected = EXPECTED_TARGET.get(
                    action, "accepted" if action == Action.RESUME else state
                )
                assert after.state == expected, label
                assert events_after > events_before, label
            else:
                assert outcome is not None, f"{label} was allowed"
                assert outcome.status in (403, 404, 409), label
                assert after.state == state and events_after == events_before, label
            checked += 1
    assert checked == len(EXPECTED_ROLES) * len(INSIDE_USERS + OUTSIDE_USERS)
