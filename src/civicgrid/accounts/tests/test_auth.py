"""Bearer tokens: who a token acts as, and when it stops working."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from civicgrid.accounts.models import ApiToken, User
from civicgrid.cases.models import Case
from civicgrid.core.testing import INSIDE


def _me(key: str):
    return Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_a_live_token_acts_as_its_user(world):
    response = _me(world.tokens["hotline"])
    assert response.status_code == 200
    assert response.json()["username"] == "operator"


def test_an_unknown_token_is_refused(world):
    assert _me("cg_not-a-token").status_code == 401


def test_a_revoked_token_is_refused(world):
    ApiToken.objects.update(revoked_at=timezone.now())
    assert _me(world.tokens["hotline"]).status_code == 401


def test_the_token_of_a_deactivated_user_is_refused(world):
    User.objects.filter(username="operator").update(is_active=False)
    assert _me(world.tokens["hotline"]).status_code == 401


def test_the_last_use_is_written_down_at_most_once_a_minute(world):
    token = ApiToken.objects.get()
    assert token.last_used_at is None
    _me(world.tokens["hotline"])
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    _me(world.tokens["hotline"])
    assert ApiToken.objects.get().last_used_at == first  # within the minute: left alone
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    ApiToken.objects.update(last_used_at=long_ago)
    _me(world.tokens["hotline"])
    assert ApiToken.objects.get().last_used_at > long_ago


def test_cases_filed_with_a_token_count_as_the_tokens_source(world):
    lon, lat = INSIDE["G1"]
    response = Client().post(
        "/api/cases",
        {"category": "0101", "description": "12345 转来：路灯不亮", "lon": lon, "lat": lat},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.tokens['hotline']}",
    )
    assert response.status_code == 201, response.content
    assert Case.objects.get().source == "hotline"
