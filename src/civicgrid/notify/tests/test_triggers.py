"""Each case event tells the right people, once, however often the event is processed."""

from __future__ import annotations

import datetime as dt

from civicgrid.accounts.models import Role, User
from civicgrid.cases import services
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.cases.tasks import process_case_event
from civicgrid.core import clock
from civicgrid.core.testing import INSIDE
from civicgrid.notify.models import Notification, Status
from civicgrid.notify.triggers import notify_case_event


def event_of(case: Case, action: str) -> CaseEvent:
    return CaseEvent.objects.filter(case=case, action=action).latest("id")


def recipients(template: str) -> dict[str, Notification]:
    rows = Notification.objects.filter(template=template).select_related("recipient")
    return {n.recipient.username if n.recipient else n.address: n for n in rows}


def twice(event: CaseEvent) -> None:
    notify_case_event(event_id=event.pk)
    notify_case_event(event_id=event.pk)


def dispatched(world, urgency: str = "urgent", grid: str = "G1") -> Case:
    lon, lat = INSIDE[grid]
    case = services.case_create(
        actor=world.user("resident"),
        category="0101",
        description="垃圾堆放",
        lon=lon,
        lat=lat,
        urgency=urgency,
        address="示范路1号",
    ).case
    who = world.user("dispatcher" if grid in ("G1", "G2") else "dispatcher2")
    case = services.case_accept(case=case, actor=who)
    return services.case_dispatch(
        case=case,
        lead=world.departments["CG"],
        co_handlers=[world.departments["XF"]],
        actor=who,
    )


def test_dispatch_tells_the_handlers_of_lead_and_co_handler_departments_once(world):
    case = dispatched(world)
    twice(event_of(case, "dispatch"))
    got = recipients("dispatch")
    assert set(got) == {"handler", "handler_fire"}
    assert got["handler"].context["as_lead"] is True
    assert got["handler_fire"].context["as_lead"] is False
    assert got["handler"].context["department"] == "城管"
    assert got["handler"].channel == "wecom" and got["handler"].address == "handler"
    assert got["handler"].case_id == case.pk and got["handler"].status == Status.PENDING
    assert Notification.objects.count() == 2


def test_a_department_team_for_another_area_is_not_told(world):
    elsewhere = User.objects.create_user(
        username="cg_s2", role=Role.DEPARTMENT_HANDLER, department=world.departments["CG"]
    )
    elsewhere.regions.set([world.regions["S2"]])
    case = dispatched(world)
    notify_case_event(event_id=event_of(case, "dispatch").pk)
    assert "cg_s2" not in recipients("dispatch")


def test_near_due_and_overdue_tell_the_lead_handlers_and_the_grids_dispatcher_once(world):
    case = dispatched(world)
    services.case_sweep_deadlines(now=case.deadline - dt.timedelta(minutes=30))
    near = event_of(case, "mark_near_due")
    assert near.public is False
    twice(near)
    assert set(recipients("near_due")) == {"handler", "dispatcher"}

    services.case_sweep_deadlines(now=case.deadline + dt.timedelta(minutes=1))
    twice(event_of(case, "mark_overdue"))
    # Co-handlers are not chased; the other subdistrict's dispatcher hears nothing.
    assert set(recipients("overdue")) == {"handler", "dispatcher"}
    assert Notification.objects.filter(template__in=["near_due", "overdue"]).count() == 4


def test_the_sweep_writes_one_near_due_event_however_often_it_runs(world):
    case = dispatched(world)
    at = case.deadline - dt.timedelta(minutes=30)
    services.case_sweep_deadlines(now=at)
    services.case_sweep_deadlines(now=at + dt.timedelta(minutes=1))
    assert case.timeline.filter(action="mark_near_due").count() == 1


def test_a_dispatcher_who_holds_the_grid_by_code_comes_before_the_subdistrict(world):
    near = User.objects.create_user(
        username="g1_dispatcher", role=Role.DISPATCHER, grid_codes=["G1"]
    )
    case = dispatched(world)
    services.case_sweep_deadlines(now=case.deadline + dt.timedelta(minutes=1))
    notify_case_event(event_id=event_of(case, "mark_overdue").pk)
    assert set(recipients("overdue")) == {"handler", near.username}


def test_return_tells_the_dispatchers_of_the_case_subdistrict(world):
    case = dispatched(world, grid="G3")
    services.case_return(case=case, actor=world.user("handler"), reason="不属于城管职责")
    twice(event_of(case, "return"))
    got = recipients("returned")
    assert set(got) == {"dispatcher2"}  # G3 lies in S2
    assert got["dispatcher2"].context["reason"] == "不属于城管职责"
    assert got["dispatcher2"].context["department"] == "城管"


def close(world, case: Case) -> Case:
    case = services.case_take(case=case, actor=world.user("handler"))
    case = services.case_report_handled(case=case, actor=world.user("handler"), note="已清运")
    case = services.case_verify(case=case, actor=world.user("inspector"), ok=True)
    return services.case_close(case=case, actor=world.user("dispatcher"))


def test_closure_tells_the_reporter_by_sms_once(world):
    resident = world.user("resident")
    resident.phone = "13800000001"
    resident.save()
    case = close(world, dispatched(world))
    twice(event_of(case, "close"))
    (sent,) = Notification.objects.filter(template="closed")
    assert (sent.channel, sent.address, sent.recipient) == ("sms", "13800000001", resident)


def test_closure_falls_back_to_email_then_to_the_phone_given_when_reporting(world):
    resident = world.user("resident")
    resident.email = "r@example.org"
    resident.save()
    case = close(world, dispatched(world))
    notify_case_event(event_id=event_of(case, "close").pk)
    assert Notification.objects.get(template="closed").channel == "email"

    lon, lat = INSIDE["G1"]
    anonymous = services.case_create(
        actor=None,
        category="0101",
        description="路灯不亮",
        lon=lon,
        lat=lat,
        reporter_phone="13900000002",
    ).case
    anonymous = services.case_accept(case=anonymous, actor=world.user("dispatcher"))
    anonymous = services.case_dispatch(
        case=anonymous, lead=world.departments["CG"], actor=world.user("dispatcher")
    )
    anonymous = close(world, anonymous)
    twice(event_of(anonymous, "close"))
    sms = Notification.objects.get(template="closed", case=anonymous)
    assert (sms.channel, sms.address, sms.recipient) == ("sms", "13900000002", None)


def test_a_reporter_without_any_address_gets_nothing(world):
    case = close(world, dispatched(world))
    assert notify_case_event(event_id=event_of(case, "close").pk) == []
    assert not Notification.objects.filter(template="closed").exists()


def test_escalation_tells_the_station_heads_of_the_level_escalated_to(world):
    district_head = User.objects.create_user(username="district_head", role=Role.STATION_HEAD)
    district_head.regions.set([world.regions["D"]])
    case = dispatched(world)
    case = services.case_escalate(case=case, actor=world.user("inspector"), reason="多次反复")
    twice(event_of(case, "escalate"))
    got = recipients("escalated")
    assert set(got) == {"head"} and got["head"].context["level"] == "subdistrict"

    case = services.case_escalate(case=case, actor=world.user("dispatcher"), reason="需区级协调")
    notify_case_event(event_id=event_of(case, "escalate").pk)
    assert set(recipients("escalated")) == {"head", "district_head"}
    assert recipients("escalated")["district_head"].context["level"] == "district"


def test_nobody_is_told_about_what_they_did_themselves(world):
    case = dispatched(world)
    case = services.case_escalate(case=case, actor=world.user("head"), reason="多次反复")
    assert notify_case_event(event_id=event_of(case, "escalate").pk) == []


def test_actions_without_a_message_queue_nothing(world):
    case = dispatched(world)
    case = services.case_take(case=case, actor=world.user("handler"))
    assert notify_case_event(event_id=event_of(case, "take").pk) == []
    assert notify_case_event(event_id=10**9) == []  # a rolled-back event


def test_a_committed_dispatch_is_delivered_through_the_case_event_task(
    world, captured, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = dispatched(world)
    rows = Notification.objects.filter(case=case, template="dispatch")
    assert {n.status for n in rows} == {Status.SENT} and rows.count() == 2
    assert sorted(m.address for m in captured) == ["handler", "handler_fire"]
    # Processing the same event again (a redelivered task) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        process_case_event.enqueue(event_id=event_of(case, "dispatch").pk)
    assert len(captured) == 2


def test_the_deadline_sweep_job_delivers_overdue_messages(
    world, captured, django_capture_on_commit_callbacks, settings
):
    # Recipients without a language preference get the deployment's default language.
    settings.LANGUAGE_CODE = "zh-hans"
    case = dispatched(world)
    with (
        clock.frozen(case.deadline + dt.timedelta(minutes=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.case_sweep_deadlines()
    assert {m.address for m in captured} == {"handler", "dispatcher"}
    assert all("已超期" in m.subject for m in captured)
