"""API keys are issued, bound and revoked in the Django admin, through the services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import WARNING, get_messages
from django.test import Client

from civicgrid.audit.models import AuditEntry
from civicgrid.core.errors import NotAllowed, ValidationFailed
from civicgrid.open311.models import ApiKey
from civicgrid.open311.services import api_key_create, api_key_use

ADD_URL = "/admin/open311/apikey/add/"


def admin_client(user) -> Client:
    user.is_staff = True
    user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_admin_issues_a_key_shows_it_once_and_stores_only_its_hash(world):
    client = admin_client(world.user("admin"))

    response = client.post(
        ADD_URL,
        {
            "name": "FixMyStreet",
            "user": world.user("operator").pk,
            "source": "api",
            "rate_limit_per_minute": "30",
        },
        follow=True,
    )

    key = ApiKey.objects.get()
    (shown,) = [str(m) for m in get_messages(response.wsgi_request) if m.level == WARNING]
    raw = shown[shown.index("o311_") :].split()[0].rstrip(".")
    assert key.key_hash == ApiKey.hash_key(raw)
    assert raw not in str(ApiKey.objects.values().get())
    assert (key.user, key.source, key.rate_limit_per_minute) == (world.user("operator"), "api", 30)
    assert api_key_use(raw_key=raw) == key
    assert AuditEntry.objects.filter(action="open311.api_key_create").exists()


def test_admin_form_refuses_a_source_the_account_may_not_file(world):
    client = admin_client(world.user("admin"))

    response = client.post(
        ADD_URL,
        {
            "name": "Sensors",
            "user": world.user("operator").pk,
            "source": "device",  # an operator may not file device cases
            "rate_limit_per_minute": "30",
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert not ApiKey.objects.exists()


def test_revoke_action_turns_the_key_off(world):
    key, raw = api_key_create(
        actor=world.user("admin"),
        name="Old app",
        user=world.user("operator"),
        source="api",
        rate_limit_per_minute=10,
    )
    client = admin_client(world.user("admin"))

    client.post(
        "/admin/open311/apikey/", {"action": "revoke", "_selected_action": [key.pk]}, follow=True
    )

    key.refresh_from_db()
    assert key.revoked_at is not None
    with pytest.raises(NotAllowed):
        api_key_use(raw_key=raw)


def test_staff_who_are_not_administrators_cannot_issue_keys(world):
    operator = world.user("operator")
    operator.is_staff = True
    operator.save()
    operator.user_permissions.add(*Permission.objects.filter(content_type__app_label="open311"))
    client = Client()
    client.force_login(operator)

    response = client.get(ADD_URL)

    assert response.status_code == 403
    with pytest.raises(NotAllowed):
        api_key_create(
            actor=operator,
            name="Mine",
            user=operator,
            source="api",
            rate_limit_per_minute=10,
        )


def test_rate_limit_must_be_positive(world):
    with pytest.raises(ValidationFailed) as caught:
        api_key_create(
            actor=world.user("admin"),
            name="Zero",
            user=world.user("operator"),
            source="api",
            rate_limit_per_minute=0,
        )
    assert caught.value.field == "rate_limit_per_minute"


def test_admin_change_goes_through_the_service_and_is_audited(world):
    key, _raw = api_key_create(
        actor=world.user("admin"),
        name="App",
        user=world.user("operator"),
        source="api",
        rate_limit_per_minute=10,
    )
    client = admin_client(world.user("admin"))

    client.post(
        f"/admin/open311/apikey/{key.pk}/change/",
        {"name": "App v2", "source": "hotline", "rate_limit_per_minute": "99"},
    )

    key.refresh_from_db()
    assert (key.name, key.source, key.rate_limit_per_minute) == ("App v2", "hotline", 99)
    assert key.user == world.user("operator")  # the binding to the account never changes
    assert AuditEntry.objects.filter(action="open311.api_key_update").exists()
