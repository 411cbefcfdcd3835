"""Device events become cases once each; refused events are recorded; a batch is one transaction."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError

from civicgrid.cases.models import Case, CaseEvent, Source
from civicgrid.core.errors import NotAllowed
from civicgrid.core.testing import OUTSIDE
from civicgrid.ingest import services
from civicgrid.ingest.models import Channel, RejectedMessage
from civicgrid.ingest.services import Incoming, events_ingest

from .conftest import event


def ingest(events, actor, **kwargs):
    return events_ingest(
        events=[
            Incoming(payload=e if isinstance(e, bytes) else json.dumps(e).encode()) for e in events
        ],
        actor=actor,
        channel=Channel.MQTT,
        **kwargs,
    )


def test_a_batch_of_events_becomes_device_cases_on_their_grids(ingest_user):
    events = [event(), event(device_id="door-3", kind="door_open"), event(category="0102")]
    outcomes = ingest(events, ingest_user)
    assert [o.status for o in outcomes] == ["created"] * 3
    cases = Case.objects.filter(source=Source.DEVICE).order_by("id")
    assert [c.external_id for c in cases] == [e["event_id"] for e in events]
    first = cases[0]
    assert first.management_grid.code == "G1" and first.unit_grid is not None
    assert first.extra["device_id"] == "cam-017" and first.extra["kind"] == "falling_object"
    assert first.extra["event_at"] == "2026-05-01T08:30:00+00:00"
    assert first.reporter == ingest_user and first.deadline is not None
    assert outcomes[0].case_number == first.number
    assert CaseEvent.objects.filter(case__in=cases, action="report").count() == 3


def test_an_event_delivered_again_finds_its_case_instead_of_filing_another(ingest_user):
    again = event()
    # in the same batch, and in a later one
    first = ingest([again, event(), again], ingest_user)
    later = ingest([again], ingest_user)
    assert [o.status for o in first] == ["created", "created", "duplicate"]
    assert later[0].status == "duplicate" and later[0].case_number == first[0].case_number
    assert Case.objects.filter(external_id=again["event_id"]).count() == 1
    assert Case.objects.count() == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"\xff\xfe not utf-8", "payload"),
        (b"{not json", "payload"),
        (b"[1, 2]", "payload"),
        (json.dumps(event(event_id=None)).encode(), "event_id"),
        (json.dumps(event(event_id="x" * 65)).encode(), "event_id"),
        (json.dumps(event(lon="121.4")).encode(), "lon"),
        (json.dumps(event(lat=True)).encode(), "lat"),
        (json.dumps(event(lon=OUTSIDE[0], lat=OUTSIDE[1])).encode(), "location"),
        (json.dumps(event(category="9999")).encode(), "category"),
        (json.dumps(event(category="01")).encode(), "category"),
        (json.dumps(event(crs="mars")).encode(), "crs"),
        (json.dumps(event(at="2026-05-01T08:30:00")).encode(), "at"),
        (json.dumps(event(at="yesterday")).encode(), "at"),
        (json.dumps(event(description="bad\x00text")).encode(), "description"),
        (b'{"event_id": "' + b"x" * 70_000 + b'"}', "payload"),
    ],
)
def test_a_bad_message_is_recorded_with_its_reason_and_the_batch_goes_on(
    ingest_user, payload, field
):
    # given a batch with a bad message between two good ones
    good = [event(), event()]
    outcomes = ingest([good[0], payload, good[1]], ingest_user)
    # then the good ones are cases and the bad one is a rejection naming the field
    assert [o.status for o in outcomes] == ["created", "rejected", "created"]
    assert outcomes[1].field == field
    assert Case.objects.count() == 2
    rejected = RejectedMessage.objects.get()
    assert rejected.field == field and rejected.reason and rejected.channel == "mqtt"
    assert rejected.payload  # kept, for someone to look at


def test_a_rejection_keeps_the_ids_it_can_read(ingest_user):
    ingest([event(event_id="e-1", device_id="cam-9", category="9999")], ingest_user)
    rejected = RejectedMessage.objects.get()
    assert (rejected.event_id, rejected.device_id) == ("e-1", "cam-9")
    assert "9999" in rejected.payload


def test_after_commit_runs_once_the_batch_commits(ingest_user, django_capture_on_commit_callbacks):
    acked = []
    with django_capture_on_commit_callbacks() as callbacks:
        ingest([event(), b"junk"], ingest_user, after_commit=lambda: acked.append(True))
        # not before the commit
        assert acked == []
    assert acked == []  # captured, not run: the test's transaction never commits
    for callback in callbacks:
        callback()
    assert acked == [True]


def test_a_database_error_writes_nothing_of_the_batch_and_acks_nothing(
    ingest_user, monkeypatch, django_capture_on_commit_callbacks
):
    # given a database that fails on the third event of a batch
    real, calls = services.case_create, []

    def failing(**kwargs):
        calls.append(kwargs["external_id"])
        if len(calls) == 3:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(services, "case_create", failing)
    acked = []
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(OperationalError):
        ingest(
            [event(), b"junk", event(), event()], ingest_user, after_commit=lambda: acked.append(1)
        )
    # then nothing of it stays: no case, no rejection, and no ack is waiting for a commit
    assert Case.objects.count() == 0 and RejectedMessage.objects.count() == 0
    assert callbacks == [] and acked == []


def test_only_an_account_that_may_file_device_cases_ingests(world):
    with pytest.raises(NotAllowed):
        ingest([event()], world.user("operator"))
    assert Case.objects.count() == 0
