"""Delivery: one interface, one backend per channel, chosen in settings (docs/notifications.md).

A backend gets a rendered `Message` and either returns (delivered, with the provider's
reference if it gives one) or raises `DeliveryFailed`; retrying is the outbox's business.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, TextIO

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

from .conf import notify_setting


class DeliveryFailed(Exception):
    """The provider did not take the message; the outbox will try again later."""


@dataclass(frozen=True)
class Message:
    channel: str
    address: str
    subject: str
    body: str
    # Passed on to providers that de-duplicate, so a retry after a lost answer is not sent twice.
    idempotency_key: str = ""


class NotificationBackend(ABC):
    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def send(self, message: Message) -> str:
        """Deliver the message; return the provider's reference ("" if none) or raise."""


def get_backend(channel: str) -> NotificationBackend:
    path = notify_setting("BACKENDS")[channel]
    options = notify_setting("OPTIONS").get(channel, {})
    return import_string(path)(**options)


class ConsoleBackend(NotificationBackend):
    """The default: prints each message, so a demo or a developer sees what would be sent."""

    def __init__(self, stream: TextIO | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.stream = stream

    def send(self, message: Message) -> str:
        stream = self.stream or sys.stdout
        stream.write(
            f"[{message.channel} → {message.address}] {message.subject}\n{message.body}\n\n"
        )
        stream.flush()
        return ""


def _http_json(
    url: str,
    *,
    payload: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, Any]:
    """POST (or GET without payload) JSON; any transport failure becomes DeliveryFailed."""
    data = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json; charset=utf-8")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            detail = exc.read()[:200].decode(errors="replace")
        raise DeliveryFailed(f"HTTP {exc.code} from {_host(url)}: {detail}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(f"cannot reach {_host(url)}: {reason}") from None
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = {}
    return status, body


def _host(url: str) -> str:
    # Never put the query string in an error: WeCom keys and tokens travel there.
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class SmsBackend(NotificationBackend):
    """SMS through an HTTP gateway: POST {"to", "text", "sign"} as JSON to `endpoint`.

    Operators' SMS platforms (and cloud ones, whose requests must be signed and whose texts
    must be pre-registered templates) sit behind a small gateway of the deployment's choosing;
    any 2xx answer is success, and `{"ok": false}` or a non-zero `code` in it is a refusal.
    """

    def send(self, message: Message) -> str:
        endpoint = self.options.get("endpoint")
        if not endpoint:
            raise DeliveryFailed("SMS endpoint is not configured")
        headers = {"Idempotency-Key": message.idempotency_key} if message.idempotency_key else {}
        if self.options.get("token"):
            headers["Authorization"] = f"Bearer {self.options['token']}"
        text = message.body
        if self.options.get("sign"):
            text = f"【{self.options['sign']}】{text}"
        _status, body = _http_json(
            endpoint,
            payload={"to": message.address, "text": text, "sign": self.options.get("sign", "")},
            headers=headers,
            timeout=self.options.get("timeout", 10),
        )
        if isinstance(body, dict) and (
            body.get("ok") is False or body.get("code", 0) not in (0, "0")
        ):
            raise DeliveryFailed(f"SMS gateway refused: {body.get('message') or body}")
        return str(body.get("id", "")) if isinstance(body, dict) else ""


def _wecom_text(message: Message) -> str:
    return f"{message.subject}\n{message.body}".strip()


def _wecom_check(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("errcode", -1) != 0:
        errmsg = body.get("errmsg") if isinstance(body, dict) else body
        code = body.get("errcode") if isinstance(body, dict) else None
        raise DeliveryFailed(f"WeCom {what} refused: {code} {errmsg}")
    return body


class WeComWebhookBackend(NotificationBackend):
    """A WeCom group robot (群机器人): posts to the group's webhook and @-mentions the recipient."""

    def send(self, message: Message) -> str:
        url = self.options.get("webhook_url")
        if not url:
            raise DeliveryFailed("WeCom webhook_url is not configured")
        _status, body = _http_json(
            url,
            payload={
                "msgtype": "text",
                "text": {"content": _wecom_text(message), "mentioned_list": [message.address]},
            },
            timeout=self.options.get("timeout", 10),
        )
        _wecom_check(body, "robot")
        return ""


class WeComAppBackend(NotificationBackend):
    """A WeCom self-built app (应用消息): a direct message to one member, by WeCom user id.

    Options: corp_id, secret, agent_id, and api_base (default the public WeCom API; a private
    WeCom deployment has its own). The access token is cached per process until it expires.
    """

    _tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
    _lock = threading.Lock()
    # 40014 invalid, 42001 expired, 40001 bad secret or token: fetch a new token once.
    TOKEN_ERRORS = frozenset({40001, 40014, 42001})

    def _base(self) -> str:
        return str(self.options.get("api_base", "https://qyapi.weixin.qq.com")).rstrip("/")

    def _token(self, *, renew: bool = False) -> str:
        key = (self._base(), str(self.options.get("corp_id")), str(self.options.get("agent_id")))
        with self._lock:
            cached = self._tokens.get(key)
            if cached and not renew and cached[1] > time.monotonic():
                return cached[0]
        query = urllib.parse.urlencode(
            {
                "corpid": self.options.get("corp_id", ""),
                "corpsecret": self.options.get("secret", ""),
            }
        )
        _status, body = _http_json(
            f"{self._base()}/cgi-bin/gettoken?{query}", timeout=self.options.get("timeout", 10)
        )
        body = _wecom_check(body, "gettoken")
        token = str(body["access_token"])
        # Renew a minute early: a token that expires in flight costs a failed send.
        expires = time.monotonic() + max(int(body.get("expires_in", 7200)) - 60, 0)
        with self._lock:
            self._tokens[key] = (token, expires)
        return token

    def send(self, message: Message) -> str:
        if not all(self.options.get(k) for k in ("corp_id", "secret", "agent_id")):
            raise DeliveryFailed("WeCom corp_id, secret and agent_id must be configured")
        payload = {
            "touser": message.address,
            "msgtype": "text",
            "agentid": self.options["agent_id"],
            "text": {"content": _wecom_text(message)},
        }
        for renew in (False, True):
            token = urllib.parse.quote(self._token(renew=renew))
            _status, body = _http_json(
                f"{self._base()}/cgi-bin/message/send?access_token={token}",
                payload=payload,
                timeout=self.options.get("timeout", 10),
            )
            if isinstance(body, dict) and body.get("errcode") in self.TOKEN_ERRORS and not renew:
                continue
            body = _wecom_check(body, "message/send")
            return str(body.get("msgid", ""))
        raise DeliveryFailed("WeCom token could not be renewed")  # pragma: no cover


class EmailBackend(NotificationBackend):
    """E-mail through Django's own mail backend (SMTP in production, locmem in tests)."""

    def send(self, message: Message) -> str:
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=self.options.get("from_email") or settings.DEFAULT_FROM_EMAIL,
            to=[message.address],
            headers={"X-Civicgrid-Key": message.idempotency_key} if message.idempotency_key else {},
        )
        try:
            sent = email.send(fail_silently=False)
        except Exception as exc:  # smtplib and socket errors have no common base worth naming
            raise DeliveryFailed(f"mail backend: {exc}") from None
        if sent != 1:
            raise DeliveryFailed("mail backend sent nothing")
        return ""
