"""The real backends against a real HTTP server on 127.0.0.1 (and Django's locmem mail)."""

from __future__ import annotations

import io
import socket

import pytest
from django.core import mail

from civicgrid.notify.backends import (
    ConsoleBackend,
    DeliveryFailed,
    EmailBackend,
    Message,
    SmsBackend,
    WeComAppBackend,
    WeComWebhookBackend,
    get_backend,
)
from civicgrid.notify.models import Notification, Status
from civicgrid.notify.services import notification_create, notification_send

MSG = Message(
    channel="sms",
    address="13800000001",
    subject="【结案】您反映的问题已办结",
    body="案件2026已办结。",
    idempotency_key="case-event:1:reporter",
)


def test_sms_posts_json_with_token_sign_and_idempotency_key(provider):
    provider.answer("/sms", (200, {"code": 0, "id": "msg-9"}))
    backend = SmsBackend(endpoint=f"{provider.url}/sms", token="s3cret", sign="示范街道")
    assert backend.send(MSG) == "msg-9"
    (seen,) = provider.requests
    assert seen.method == "POST"
    assert seen.body["to"] == "13800000001"
    assert seen.body["text"] == "【示范街道】案件2026已办结。"
    assert seen.headers["authorization"] == "Bearer s3cret"
    assert seen.headers["idempotency-key"] == "case-event:1:reporter"


@pytest.mark.parametrize(
    "answer",
    [
        (500, {"message": "down"}),
        (200, {"code": 1017, "message": "bad sign"}),
        (200, {"ok": False}),
    ],
)
def test_sms_refusals_raise(provider, answer):
    provider.answer("/sms", answer)
    with pytest.raises(DeliveryFailed):
        SmsBackend(endpoint=f"{provider.url}/sms").send(MSG)


def test_an_unreachable_or_unconfigured_gateway_raises():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    with pytest.raises(DeliveryFailed, match="cannot reach"):
        SmsBackend(endpoint=f"http://127.0.0.1:{port}/sms", timeout=2).send(MSG)
    with pytest.raises(DeliveryFailed, match="not configured"):
        SmsBackend().send(MSG)


def test_wecom_robot_posts_text_and_mentions_the_recipient(provider):
    url = f"{provider.url}/cgi-bin/webhook/send?key=abc"
    WeComWebhookBackend(webhook_url=url).send(
        Message(channel="wecom", address="handler", subject="【派单】", body="案件2026")
    )
    (seen,) = provider.requests
    assert seen.query == {"key": ["abc"]}
    assert seen.body == {
        "msgtype": "text",
        "text": {"content": "【派单】\n案件2026", "mentioned_list": ["handler"]},
    }
    provider.answer("/cgi-bin/webhook/send", (200, {"errcode": 93000, "errmsg": "invalid key"}))
    with pytest.raises(DeliveryFailed, match="93000") as exc:
        WeComWebhookBackend(webhook_url=url).send(MSG)
    assert "abc" not in str(exc.value)  # the robot key never lands in a log or last_error


def test_wecom_app_fetches_a_token_once_and_renews_it_when_expired(provider):
    WeComAppBackend._tokens.clear()
    provider.answer(
        "/cgi-bin/gettoken",
        (200, {"errcode": 0, "access_token": "T1", "expires_in": 7200}),
        (200, {"errcode": 0, "access_token": "T2", "expires_in": 7200}),
    )
    provider.answer(
        "/cgi-bin/message/send",
        (200, {"errcode": 0, "errmsg": "ok", "msgid": "m1"}),
        (200, {"errcode": 0, "errmsg": "ok", "msgid": "m2"}),
        (200, {"errcode": 42001, "errmsg": "access_token expired"}),
        (200, {"errcode": 0, "errmsg": "ok", "msgid": "m3"}),
    )
    backend = WeComAppBackend(api_base=provider.url, corp_id="ww1", secret="sec", agent_id=1000002)
    msg = Message(channel="wecom", address="zhangsan", subject="s", body="b")
    assert backend.send(msg) == "m1"
    assert backend.send(msg) == "m2"
    assert backend.send(msg) == "m3"
    assert provider.paths() == [
        "/cgi-bin/gettoken",
        "/cgi-bin/message/send",
        "/cgi-bin/message/send",
        "/cgi-bin/message/send",  # expired →
        "/cgi-bin/gettoken",  # renewed once →
        "/cgi-bin/message/send",
    ]
    assert provider.requests[0].query == {"corpid": ["ww1"], "corpsecret": ["sec"]}
    assert provider.requests[1].query["access_token"] == ["T1"]
    assert provider.requests[5].query["access_token"] == ["T2"]
    assert provider.requests[1].body == {
        "touser": "zhangsan",
        "msgtype": "text",
        "agentid": 1000002,
        "text": {"content": "s\nb"},
    }
    WeComAppBackend._tokens.clear()


def test_email_goes_through_djangos_mail_backend(settings):
    settings.DEFAULT_FROM_EMAIL = "noreply@grid.example.org"
    EmailBackend().send(
        Message(channel="email", address="r@example.org", subject="Closed", body="Thanks")
    )
    (sent,) = mail.outbox
    assert (sent.to, sent.subject, sent.body) == (["r@example.org"], "Closed", "Thanks")
    assert sent.from_email == "noreply@grid.example.org"


def test_console_is_the_default_backend_and_prints(settings):
    assert isinstance(get_backend("sms"), ConsoleBackend)
    out = io.StringIO()
    ConsoleBackend(stream=out).send(MSG)
    assert "13800000001" in out.getvalue() and "案件2026已办结" in out.getvalue()


def test_a_queued_sms_reaches_the_gateway_configured_in_settings(
    db, settings, provider, chinese_default
):
    settings.CIVICGRID_NOTIFY = {
        **settings.CIVICGRID_NOTIFY,
        "BACKENDS": {"sms": "civicgrid.notify.backends.SmsBackend"},
        "OPTIONS": {"sms": {"endpoint": f"{provider.url}/sms"}},
    }
    n, _ = notification_create(
        channel="sms",
        address="13800000001",
        template="closed",
        context={"number": "2026010100001", "category": "暴露垃圾"},
        idempotency_key="k",
    )
    notification_send(notification_id=n.pk)
    n = Notification.objects.get(pk=n.pk)
    assert n.status == Status.SENT
    (seen,) = provider.requests
    assert "2026010100001" in seen.body["text"] and "办结" in seen.body["text"]
