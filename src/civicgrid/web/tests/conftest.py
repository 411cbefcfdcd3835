from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from civicgrid.cases.models import Case
from civicgrid.cases.services import case_accept, case_dispatch, case_report_handled, case_take
from civicgrid.core.testing import World


def png(color: str = "red", size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def photo(name: str = "photo.png", color: str = "red") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png(color), content_type="image/png")


@pytest.fixture
def client_for(world: World):
    """A test client signed in as one of the world's users (English pages, htmx or not)."""

    def make(name: str | None = None, *, htmx: bool = False) -> Client:
        headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
        if htmx:
            headers["HTTP_HX_REQUEST"] = "true"
        client = Client(**headers)
        if name:
            client.force_login(world.user(name))
        return client

    return make


@pytest.fixture
def dispatched_case(world: World, reported_case: Case) -> Case:
    case_accept(case=reported_case, actor=world.user("dispatcher"))
    return case_dispatch(
        case=reported_case, lead=world.departments["CG"], actor=world.user("dispatcher")
    )


@pytest.fixture
def handled_case(world: World, dispatched_case: Case) -> Case:
    case_take(case=dispatched_case, actor=world.user("handler"))
    return case_report_handled(case=dispatched_case, actor=world.user("handler"), note="清理完毕")
