"""The MQTT ingestion worker: a shared subscription, batches, acks only after commit.

One thread drives both the MQTT client (`client.loop`) and the batches, so nothing is shared
between threads. Messages arrive with QoS 1 and `manual_ack=True`: paho does not acknowledge
them; the worker acks each one in the `on_commit` callback of the transaction that wrote its
batch. A message whose batch did not commit is never acked, so the broker sends it again (to
this worker when it reconnects with its persistent session, or to another of the group), and
the unique `(source, external_id)` of cases turns a second delivery into a no-op.

Several workers join the same shared subscription (`$share/civicgrid/...`): the broker gives
each message to one of them. More workers, more throughput; no coordination between them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import paho.mqtt.client as mqtt
from django.db import DatabaseError, InterfaceError, close_old_connections, connection
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from civicgrid.accounts.models import User

from .conf import ingest_setting
from .models import Channel
from .services import Incoming, Outcome, events_ingest, ingest_check_actor, message_reject

log = logging.getLogger(__name__)

# The database failed, not the message: the batch is kept, unacked, and tried again on a new
# connection (if it did commit after all, it comes back as duplicates). InterfaceError
# ("connection already closed", the cursor of a dead connection) is no DatabaseError in DB-API
# terms; it must not send a good message down the path that refuses it.
DATABASE_TROUBLE = (DatabaseError, InterfaceError)


def warm_up() -> None:
    """What a worker loads before its first message, so that message is not slow to place."""
    from civicgrid.geo.locator import get_locator

    get_locator()


class IngestWorker:
    def __init__(
        self,
        *,
        actor: User,
        host: str | None = None,
        port: int | None = None,
        topic: str | None = None,
        client_id: str | None = None,
        batch_size: int | None = None,
        batch_ms: int | None = None,
        session_expiry: int | None = None,
    ) -> None:
        ingest_check_actor(actor)
        self.actor = actor
        self.host = host or ingest_setting("MQTT_HOST")
        self.port = port or ingest_setting("MQTT_PORT")
        self.topic = topic or ingest_setting("TOPIC")
        self.batch_size = batch_size or ingest_setting("BATCH_SIZE")
        self.batch_seconds = (batch_ms or ingest_setting("BATCH_MS")) / 1000
        self.session_expiry = (
            ingest_setting("SESSION_EXPIRY_SECONDS") if session_expiry is None else session_expiry
        )
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or ingest_setting("CLIENT_ID"),
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if ingest_setting("MQTT_USERNAME"):
            self.client.username_pw_set(
                ingest_setting("MQTT_USERNAME"), ingest_setting("MQTT_PASSWORD")
            )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.pending: list[mqtt.MQTTMessage] = []
        self.first_at = 0.0
        self.subscribed = False
        self.stop_requested = False
        self.counts: Counter[str] = Counter()

    # -- MQTT callbacks (called from client.loop, in this thread) -----------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            log.error("MQTT connection refused: %s", reason)
            return
        client.subscribe(self.topic, options=SubscribeOptions(qos=1))
        self.subscribed = True
        log.info("subscribed to %s on %s:%s", self.topic, self.host, self.port)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if not self.pending:
            self.first_at = time.monotonic()
        self.pending.append(message)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        # Messages not acked yet come again after the reconnection, with new ids: drop ours.
        self.subscribed = False
        self.pending.clear()
        if not self.stop_requested:
            log.warning("MQTT connection lost (%s); will reconnect", reason)

    # -- the loop ----------------------------------------------------------------------------

    def connect(self) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.session_expiry
        # The broker sends at most this many unacked messages: room for two batches.
        properties.ReceiveMaximum = max(2 * self.batch_size, 20)
        self.client.connect(
            self.host, self.port, keepalive=30, clean_start=False, properties=properties
        )

    def run(
        self, *, max_messages: int | None = None, max_seconds: float | None = None
    ) -> Counter[str]:
        """Ingest until stopped (or after `max_messages` messages, or `max_seconds`)."""
        warm_up()
        self.connect()
        started, backoff = time.monotonic(), 0.5
        while not self.stop_requested:
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
            if max_messages is not None and self.counts["messages"] >= max_messages:
                break
            rc = self.client.loop(timeout=min(self.batch_seconds, 0.05))
            if rc != mqtt.MQTT_ERR_SUCCESS:
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                try:
                    self.client.reconnect()
                except OSError as e:
                    log.warning("MQTT reconnect failed: %s", e)
                continue
            backoff = 0.5
            if self.pending and (
                len(self.pending) >= self.batch_size
                or time.monotonic() - self.first_at >= self.batch_seconds
            ):
                self.flush()
        self.stop()
        return self.counts

    def flush(self) -> None:
        """Write the pending messages in one transaction; ack them once it has committed."""
        batch, self.pending = self.pending[: self.batch_size], self.pending[self.batch_size :]
        self.first_at = time.monotonic()
        acks = [(m.mid, m.qos) for m in batch]
        incoming = [Incoming(payload=bytes(m.payload), topic=m.topic) for m in batch]

        def ack() -> None:
            for mid, qos in acks:
                self.client.ack(mid, qos)

        close_old_connections()  # as a request would: honours CONN_MAX_AGE, drops dead ones
        try:
            outcomes = events_ingest(
                events=incoming, actor=self.actor, channel=Channel.MQTT, after_commit=ack
            )
        except DATABASE_TROUBLE:
            # Nothing acked: keep the batch and try again shortly (a deadlock with another
            # worker, a failover, a restart of the database ...). Usually nothing was written;
            # if the commit went through after all, the retry files each event as a duplicate.
            log.exception("batch of %d messages not written; retrying", len(batch))
            connection.close()
            self.pending = batch + self.pending
            time.sleep(1.0)
            return
        except Exception:
            # A message the service did not expect broke the batch: find it, refuse it alone.
            log.exception("batch of %d messages failed; writing them one by one", len(batch))
            self._one_by_one(batch)
            return
        self.counts["messages"] += len(batch)
        self.counts["batches"] += 1
        self.counts.update(o.status for o in outcomes)

    def _one_by_one(self, batch: list[mqtt.MQTTMessage]) -> None:
        for i, message in enumerate(batch):
            incoming = Incoming(payload=bytes(message.payload), topic=message.topic)

            def ack(m: mqtt.MQTTMessage = message) -> None:
                self.client.ack(m.mid, m.qos)

            try:
                outcomes = events_ingest(
                    events=[incoming], actor=self.actor, channel=Channel.MQTT, after_commit=ack
                )
            except DATABASE_TROUBLE:
                connection.close()
                self.pending = batch[i:] + self.pending
                return
            except Exception as e:
                log.exception("message %s refused after an internal error", message.mid)
                message_reject(incoming=incoming, channel=Channel.MQTT, error=e, after_commit=ack)
                outcomes = [Outcome("rejected")]
            self.counts["messages"] += 1
            self.counts.update(o.status for o in outcomes)

    def stop(self) -> None:
        """Finish the batch in hand, send the acks, leave the broker."""
        self.stop_requested = True
        if self.pending and self.client.is_connected():
            self.flush()
        for _ in range(5):  # let the acks of the last batch go out
            self.client.loop(timeout=0.01)
        self.client.disconnect()
        self.client.loop(timeout=0.01)
