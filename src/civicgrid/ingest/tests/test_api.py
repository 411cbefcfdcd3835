"""The webhook: the same service over HTTP, for systems without MQTT; token authentication only."""

from __future__ import annotations

import pytest

from civicgrid.cases.models import Case, Source
from civicgrid.ingest.models import RejectedMessage

from .conftest import event

URL = "/api/ingest/events"


def post(client, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(URL, body, content_type="application/json", headers=headers)


def test_events_posted_become_cases_and_a_resend_finds_them(client, device_token):
    events = [event(), event(), event(category="9999")]
    response = post(client, {"events": events}, device_token)
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["duplicate"], body["rejected"]) == (2, 0, 1)
    assert body["results"][2]["field"] == "category" and body["results"][2]["case"] is None
    numbers = [r["case"] for r in body["results"][:2]]
    assert set(Case.objects.filter(source=Source.DEVICE).values_list("number", flat=True)) == set(
        numbers
    )
    assert RejectedMessage.objects.get().channel == "http"
    # when the gateway sends the same batch again (it never saw our answer)
    again = post(client, {"events": events[:2]}, device_token).json()
    assert again["duplicate"] == 2 and [r["case"] for r in again["results"]] == numbers
    assert Case.objects.count() == 2


def test_without_a_token_the_webhook_is_closed(client, ingest_user):
    client.force_login(ingest_user)  # a session is not enough: systems use tokens
    assert post(client, {"events": [event()]}).status_code == 401
    assert Case.objects.count() == 0


def test_a_token_of_an_account_that_may_not_file_device_cases_is_refused(client, world):
    response = post(client, {"events": [event()]}, world.tokens["hotline"])
    assert response.status_code == 403
    assert Case.objects.count() == 0 and RejectedMessage.objects.count() == 0


@pytest.mark.parametrize("body", [{"events": []}, {"events": "x"}, {}, {"events": [event()] * 501}])
def test_a_malformed_body_is_a_422_naming_the_field(client, device_token, body):
    response = post(client, body, device_token)
    assert response.status_code == 422
    assert response.json()["field"] == "events"
    assert Case.objects.count() == 0
