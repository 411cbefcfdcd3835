"""Edits to reference data in the admin are written to the audit log, without secrets."""

from __future__ import annotations

from django.test import Client

from civicgrid.accounts.models import ApiToken, Department, Role, User
from civicgrid.audit.models import AuditEntry


def admin_client(db) -> Client:
    user = User.objects.create_superuser(username="root", password="pw-root", role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client


def test_adding_and_changing_a_department_is_audited(db):
    client = admin_client(db)
    r = client.post(
        "/admin/accounts/department/add/",
        {"code": "FH", "name": "防汛", "phone": "", "is_active": "on"},
    )
    assert r.status_code == 302, r.content[:500]
    dept = Department.objects.get(code="FH")
    r = client.post(
        f"/admin/accounts/department/{dept.pk}/change/",
        {"code": "FH", "name": "防汛办", "phone": ""},
    )
    assert r.status_code == 302
    entries = list(AuditEntry.objects.filter(object_type="accounts.department").order_by("id"))
    assert [e.action for e in entries] == ["admin.add", "admin.change"]
    assert entries[1].before["name"] == "防汛" and entries[1].after["name"] == "防汛办"
    assert entries[1].actor_label == "root"


def test_a_new_api_token_is_shown_once_and_never_logged(db):
    client = admin_client(db)
    root = User.objects.get(username="root")
    r = client.post(
        "/admin/accounts/apitoken/add/",
        {"user": root.pk, "name": "12345", "source": "hotline"},
        follow=True,
    )
    assert r.status_code == 200
    token = ApiToken.objects.get(name="12345")
    shown = [str(m) for m in r.context["messages"]]
    assert any(token.prefix in m for m in shown)
    entry = AuditEntry.objects.get(object_type="accounts.apitoken")
    assert "key_hash" not in entry.after
