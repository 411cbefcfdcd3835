from __future__ import annotations

import datetime as dt
import socket
import uuid
from typing import Any

import pytest

from civicgrid.accounts.models import ApiToken, Role, TokenSource, User
from civicgrid.core.testing import INSIDE


def event(**overrides: Any) -> dict[str, Any]:
    """A valid device event in G1; keyword arguments replace (or, as None, remove) fields."""
    lon, lat = INSIDE["G1"]
    data: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "device_id": "cam-017",
        "kind": "falling_object",
        "lon": lon,
        "lat": lat,
        "category": "0101",
        "description": "高空抛物：垃圾袋落在人行道",
        "at": dt.datetime(2026, 5, 1, 8, 30, tzinfo=dt.UTC).isoformat(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def ingest_user(world) -> User:
    """The account device cases are filed as: a dispatcher, who may file them."""
    return User.objects.create_user(username="ingest", role=Role.DISPATCHER)


@pytest.fixture
def device_token(ingest_user) -> str:
    key = ApiToken.new_key()
    ApiToken.objects.create(
        user=ingest_user,
        name="camera gateway",
        prefix=key[:8],
        key_hash=ApiToken.hash_key(key),
        source=TokenSource.DEVICE,
    )
    return key


def broker_listening(host: str = "127.0.0.1", port: int = 1883) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def broker() -> tuple[str, int]:
    if not broker_listening():
        pytest.skip("no MQTT broker listens on 127.0.0.1:1883 (start Mosquitto: mosquitto -d)")
    return "127.0.0.1", 1883
