"""The rules of the loop beyond who may act: merge, transfer, escalate, reopen, feedback, support."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.services import audit_verify_chain
from civicgrid.cases import services
from civicgrid.cases.models import CaseAssignment, CaseSupport, EscalationLevel, State
from civicgrid.core import clock
from civicgrid.core.errors import Conflict, NotAllowed, ValidationFailed
from civicgrid.core.testing import INSIDE

from .test_authorization_matrix import drive


def new_case(world, who="resident", grid="G1", **kw):
    lon, lat = INSIDE[grid]
    return services.case_create(
        actor=world.user(who), category="0101", description="d", lon=lon, lat=lat, **kw
    ).case


def test_merge_folds_the_duplicate_and_its_reporter_follows_the_target(world):
    target = new_case(world, who="operator")
    dup = new_case(world, who="resident")
    services.case_merge(case=dup, into=target, actor=world.user("dispatcher"))
    dup.refresh_from_db()
    target.refresh_from_db()
    assert dup.state == State.MERGED and dup.merged_into == target
    assert CaseSupport.objects.filter(case=target, user=world.user("resident")).exists()
    assert target.supporters_count == 2  # the duplicate itself and its reporter
    assert target.timeline.filter(action="merge", data__merged=dup.number).exists()


def test_merge_into_itself_or_a_closed_case_is_refused(world):
    case = new_case(world)
    with pytest.raises(ValidationFailed) as e:
        services.case_merge(case=case, into=case, actor=world.user("dispatcher"))
    assert e.value.field == "into"
    closed = drive(world, "closed")
    with pytest.raises(Conflict):
        services.case_merge(case=case, into=closed, actor=world.user("dispatcher"))
    case.refresh_from_db()
    assert case.state == State.REPORTED


def test_transfer_moves_the_case_to_the_other_grid_and_its_station(world):
    case = services.case_accept(case=new_case(world), actor=world.user("dispatcher"))
    case = services.case_transfer(
        case=case, actor=world.user("dispatcher"), grid_code="G3", reason="属二街道"
    )
    assert case.state == State.REPORTED and case.management_grid.code == "G3"
    assert case.region_path == world.regions["C3"].path
    # Now the other subdistrict's dispatcher can act on it and the first cannot.
    services.case_accept(case=case, actor=world.user("dispatcher2"))
    with pytest.raises(ValidationFailed):
        services.case_transfer(
            case=case, actor=world.user("dispatcher2"), grid_code="NOPE", reason="x"
        )


def test_escalation_climbs_grid_subdistrict_district_then_stops(world):
    case = new_case(world)
    for level in (EscalationLevel.SUBDISTRICT, EscalationLevel.DISTRICT):
        case = services.case_escalate(case=case, actor=world.user("inspector"), reason="需上级协调")
        assert case.escalation_level == level
    with pytest.raises(Conflict):
        services.case_escalate(case=case, actor=world.user("dispatcher"), reason="again")


def test_cosigned_departments_are_all_assigned_with_one_lead(world):
    case = services.case_accept(case=new_case(world), actor=world.user("dispatcher"))
    services.case_dispatch(
        case=case,
        lead=world.departments["CG"],
        co_handlers=[world.departments["WY"], world.departments["SCJG"]],
        actor=world.user("dispatcher"),
    )
    rows = CaseAssignment.objects.filter(case=case, active=True)
    assert sorted((r.department.code, r.role) for r in rows) == [
        ("CG", "lead"),
        ("SCJG", "co_handler"),
        ("WY", "co_handler"),
    ]
    # A co-handler may see the case but not take it: the lead department runs it.
    co_handler = world.user("handler")
    co_handler.department = world.departments["WY"]
    co_handler.save()
    with pytest.raises(NotAllowed):
        services.case_take(case=case, actor=co_handler)


def test_returned_case_goes_back_to_the_dispatcher_who_can_redispatch(world):
    case = drive(world, "returned")
    assert not CaseAssignment.objects.filter(case=case, active=True).exists()
    case = services.case_dispatch(
        case=case, lead=world.departments["SCJG"], actor=world.user("dispatcher")
    )
    assert case.state == State.DISPATCHED


def test_reporter_may_reopen_within_the_window_only(world, settings):
    case = drive(world, "closed")
    later = case.closed_at + dt.timedelta(days=8)
    with clock.frozen(later), pytest.raises(NotAllowed):
        services.case_reopen(case=case, actor=world.user("resident"), reason="又堆了")
    case = services.case_reopen(case=case, actor=world.user("resident"), reason="又堆了")
    assert case.state == State.ACCEPTED and case.reopen_count == 1 and case.closed_at is None


def close_it(world, case):
    d, h = world.user("dispatcher"), world.user("handler")
    case = services.case_accept(case=case, actor=d)
    case = services.case_dispatch(case=case, lead=world.departments["CG"], actor=d)
    case = services.case_take(case=case, actor=h)
    case = services.case_report_handled(case=case, actor=h, note="done")
    case = services.case_verify(case=case, actor=world.user("inspector"), ok=True)
    return services.case_close(case=case, actor=d)


def test_anonymous_reporter_rates_and_reopens_with_the_tracking_token(world):
    lon, lat = INSIDE["G1"]
    case = close_it(
        world,
        services.case_create(actor=None, category="0101", description="d", lon=lon, lat=lat).case,
    )
    other = drive(world, "closed")
    with pytest.raises(NotAllowed):  # no token, no account
        services.case_feedback(case=case, actor=None, satisfaction=5)
    with pytest.raises(NotAllowed):  # another case's token
        services.case_feedback(
            case=case, actor=None, satisfaction=5, reporter_token=other.tracking_token
        )
    fb = services.case_feedback(
        case=case, actor=None, satisfaction=2, reporter_token=case.tracking_token
    )
    assert fb.satisfaction == 2 and fb.user is None
    with pytest.raises(Conflict):  # once per closure
        services.case_feedback(
            case=case, actor=None, satisfaction=1, reporter_token=case.tracking_token
        )
    case = services.case_reopen(
        case=case, actor=None, reason="没修好", reporter_token=case.tracking_token
    )
    assert case.state == State.ACCEPTED


def test_satisfaction_must_be_1_to_5(world):
    case = drive(world, "closed")
    for bad in (0, 6, "5"):
        with pytest.raises(ValidationFailed) as e:
            services.case_feedback(case=case, actor=world.user("resident"), satisfaction=bad)
        assert e.value.field == "satisfaction"


def test_self_handle_closes_with_the_inspectors_note(world):
    case = new_case(world, who="inspector")
    case = services.case_self_handle(case=case, actor=world.user("inspector"), note="已当场清理")
    assert case.state == State.CLOSED and case.closed_at is not None


def test_staff_actions_write_a_verifiable_audit_chain(world):
    drive(world, "closed")
    count, bad = audit_verify_chain()
    assert count >= 6 and bad == []
    entry = AuditEntry.objects.filter(action="case.dispatch").get()
    assert entry.actor_label == "dispatcher" and entry.after["state"] == "dispatched"
    with pytest.raises(RuntimeError):
        entry.save()
    AuditEntry.objects.filter(pk=entry.pk).update(after={"state": "closed"})  # tampering
    assert audit_verify_chain()[1] == [entry.pk]
