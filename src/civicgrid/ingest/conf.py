"""Ingestion settings: `CIVICGRID_INGEST` in the settings, each key overridable by environment."""

from __future__ import annotations

import os
import socket
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # The broker: Mosquitto in development and CI, an MQTT 5 cluster (EMQX …) in a city.
    "MQTT_HOST": "127.0.0.1",
    "MQTT_PORT": 1883,
    "MQTT_USERNAME": "",
    "MQTT_PASSWORD": "",
    # Every worker joins the shared subscription group `civicgrid`: the broker hands each
    # message to one of them, so adding workers adds throughput.
    "TOPIC": "$share/civicgrid/civicgrid/v1/events/#",
    # A stable id per worker slot: with a persistent session the broker keeps the messages it
    # sent but saw no ack for, and sends them again when this worker reconnects.
    "CLIENT_ID": f"civicgrid-ingest-{socket.gethostname()}",
    "SESSION_EXPIRY_SECONDS": 3600,
    # A batch is written in one transaction: up to BATCH_SIZE messages, or what came within
    # BATCH_MS of the first one.
    "BATCH_SIZE": 200,
    "BATCH_MS": 50,
    # The account device cases are filed as (a dispatcher or station head may file them).
    "USERNAME": "ingest",
    "MAX_PAYLOAD_BYTES": 64 * 1024,
}


def ingest_setting(name: str) -> Any:
    """The value of one setting: environment CIVICGRID_INGEST_<NAME>, settings, default."""
    default = DEFAULTS[name]
    env = os.environ.get(f"CIVICGRID_INGEST_{name}")
    if env is not None:
        return type(default)(env)
    return getattr(settings, "CIVICGRID_INGEST", {}).get(name, default)
