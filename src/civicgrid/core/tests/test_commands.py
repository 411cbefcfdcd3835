from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from civicgrid.accounts.models import ApiToken, TokenSource
from civicgrid.audit.models import AuditEntry


def test_create_token_prints_a_key_that_authenticates_as_the_user(world):
    out = io.StringIO()

    call_command("create_token", "dispatcher", "desk script", stdout=out, stderr=io.StringIO())

    key = out.getvalue().strip()
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(key))
    assert (token.user.username, token.source, token.name) == ("dispatcher", "api", "desk script")
    assert key not in token.key_hash and token.prefix == key[:8]
    me = Client(HTTP_HOST="localhost").get("/api/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert me.status_code == 200 and me.json()["username"] == "dispatcher"
    assert AuditEntry.objects.filter(action="api_token.create").exists()


def test_create_token_records_the_source_of_a_hotline_system(world):
    out = io.StringIO()

    call_command(
        "create_token", "operator", "12345", "--source", "hotline", stdout=out, stderr=io.StringIO()
    )

    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(out.getvalue().strip()))
    assert token.source == TokenSource.HOTLINE


@pytest.mark.parametrize("username", ["nobody", "resident"])
def test_create_token_refuses_unknown_users_and_residents(world, username):
    before = ApiToken.objects.count()

    with pytest.raises(CommandError):
        call_command("create_token", username, "x", stdout=io.StringIO(), stderr=io.StringIO())

    assert ApiToken.objects.count() == before
