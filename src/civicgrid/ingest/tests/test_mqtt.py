"""The worker against the real broker: batches, acks after commit, redelivery of what was not acked."""

from __future__ import annotations

import json
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from django.db import InterfaceError, OperationalError

from civicgrid.cases.models import Case, Source
from civicgrid.ingest import worker as worker_module
from civicgrid.ingest.models import RejectedMessage
from civicgrid.ingest.worker import IngestWorker

from .conftest import event

pytestmark = [pytest.mark.mqtt, pytest.mark.django_db(transaction=True)]


def publish(host: str, port: int, topic: str, payloads: list[bytes]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(host, port)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(topic, payload, qos=1).wait_for_publish(5)
    finally:
        client.loop_stop()
        client.disconnect()


def make_worker(broker, actor, name: str, group: str, client_id: str) -> IngestWorker:
    host, port = broker
    return IngestWorker(
        actor=actor,
        host=host,
        port=port,
        topic=f"$share/{group}/civicgrid-test/{name}/events/#",
        client_id=client_id,
        batch_size=5,
        batch_ms=50,
    )


def publish_when_subscribed(worker: IngestWorker, broker, topic: str, payloads: list[bytes]):
    def go() -> None:
        deadline = time.monotonic() + 10
        while not worker.subscribed and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # the SUBACK is on its way; the subscription is in place at the broker
        publish(*broker, topic, payloads)

    thread = threading.Thread(target=go)
    thread.start()
    return thread


def test_the_worker_files_each_event_once_records_bad_ones_and_acks_them_all(broker, ingest_user):
    name, group, client_id = (f"t{uuid.uuid4().hex[:10]}" for _ in range(3))
    good = [event() for _ in range(9)]
    payloads = [json.dumps(e).encode() for e in good]
    payloads += [payloads[0], b"{broken", json.dumps(event(category="9999")).encode()]
    first = make_worker(broker, ingest_user, name, group, client_id)
    publisher = publish_when_subscribed(
        first, broker, f"civicgrid-test/{name}/events/cam", payloads
    )
    counts = first.run(max_messages=len(payloads), max_seconds=20)
    publisher.join()
    assert counts["messages"] == 12 and counts["batches"] >= 3  # batches of at most 5
    assert (counts["created"], counts["duplicate"], counts["rejected"]) == (9, 1, 2)
    assert Case.objects.filter(source=Source.DEVICE).count() == 9
    assert set(Case.objects.values_list("external_id", flat=True)) == {e["event_id"] for e in good}
    assert RejectedMessage.objects.count() == 2
    # when the same worker slot comes back, then the broker has nothing left for it: all acked
    again = make_worker(broker, ingest_user, name, group, client_id)
    assert again.run(max_seconds=1.5)["messages"] == 0


def test_messages_whose_batch_did_not_commit_come_again_and_are_filed_once(
    broker, ingest_user, monkeypatch
):
    name, group, client_id = (f"t{uuid.uuid4().hex[:10]}" for _ in range(3))
    events = [event() for _ in range(4)]
    payloads = [json.dumps(e).encode() for e in events]

    # given a worker whose database fails on every batch
    def down(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(worker_module, "events_ingest", down)
    failing = make_worker(broker, ingest_user, name, group, client_id)
    publisher = publish_when_subscribed(
        failing, broker, f"civicgrid-test/{name}/events/x", payloads
    )
    assert failing.run(max_seconds=2.5)["messages"] == 0
    publisher.join()
    assert Case.objects.count() == 0
    # when the database is back and the worker slot reconnects
    monkeypatch.undo()
    back = make_worker(broker, ingest_user, name, group, client_id)
    counts = back.run(max_messages=4, max_seconds=15)
    # then the broker delivers the unacked messages again, and each becomes one case
    assert counts["created"] == 4
    assert set(Case.objects.values_list("external_id", flat=True)) == {
        e["event_id"] for e in events
    }


def test_a_batch_that_meets_a_dead_connection_is_kept_for_another_try_not_refused(
    ingest_user, monkeypatch
):
    # given a worker whose connection was closed under it (InterfaceError is no DatabaseError)
    def dead(**kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(worker_module, "events_ingest", dead)
    monkeypatch.setattr(worker_module.time, "sleep", lambda seconds: None)
    worker = IngestWorker(actor=ingest_user, topic="civicgrid-test/x/#", client_id="unused")
    batch = []
    for mid in range(3):
        message = mqtt.MQTTMessage(mid=mid, topic=b"civicgrid-test/x/events/cam")
        message.payload = json.dumps(event()).encode()
        batch.append(message)
    worker.pending = list(batch)
    # when it writes the batch
    worker.flush()
    # then the batch waits, unacknowledged, for the next try; no message is refused
    assert worker.pending == batch and worker.counts["messages"] == 0
    assert not RejectedMessage.objects.exists() and not Case.objects.exists()
