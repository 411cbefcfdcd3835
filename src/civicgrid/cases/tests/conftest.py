from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client
from PIL import Image


class Api:
    """A JSON client for /api as a given user (session) or token."""

    def __init__(self, client: Client, token: str | None = None) -> None:
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params: Any):
        return self.client.get(f"/api{path}", params, **self.headers)

    def post(self, path: str, body: Any = None, raw: str | None = None):
        data = raw if raw is not None else json.dumps(body or {})
        return self.client.post(
            f"/api{path}", data, content_type="application/json", **self.headers
        )


@pytest.fixture
def api_as(world):
    def make(username: str | None) -> Api:
        client = Client()
        if username:
            client.force_login(world.user(username))
        return Api(client)

    return make


@pytest.fixture
def hotline_api(world) -> Api:
    return Api(Client(), token=world.tokens["hotline"])


def png_bytes(size: tuple[int, int] = (40, 30), exif_gps: bool = False, fmt: str = "PNG") -> bytes:
    img = Image.new("RGB", size, (200, 40, 40))
    out = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x8825] = {1: "N", 2: (31.0, 12.0, 0.0), 3: "E", 4: (121.0, 24.0, 0.0)}
        img.save(out, format="JPEG", exif=exif)
    else:
        img.save(out, format=fmt)
    return out.getvalue()
