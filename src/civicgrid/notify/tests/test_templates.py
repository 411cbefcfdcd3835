"""Every message has a Chinese and an English text, chosen by the recipient's language."""

from __future__ import annotations

import re

import pytest

from civicgrid.core.errors import ValidationFailed
from civicgrid.notify.models import Notification, Preference
from civicgrid.notify.rendering import TEMPLATES, language_of, render
from civicgrid.notify.services import notify_user

CONTEXT = {
    "number": "202601010000001",
    "category": "暴露垃圾",
    "category_en": "Exposed garbage",
    "address": "",
    "grid_name": "G1 网格",
    "description": "楼下垃圾堆放",
    "deadline": "2026-01-01T08:00:00+00:00",
    "closed_at": "2026-01-01T08:00:00+00:00",
    "overdue_since": "2026-01-01T08:00:00+00:00",
    "department": "城管",
    "as_lead": True,
    "reason": "理由",
    "level": "district",
    "due_on": "2026-01-02",
    "inspector": "inspector",
    "case_count": 4,
    "url": "",
}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_each_message_renders_in_both_languages(template):
    zh_subject, zh_body = render(template, "zh-hans", CONTEXT)
    en_subject, en_body = render(template, "en", CONTEXT)
    assert zh_subject and zh_body and en_subject and en_body
    assert CJK.search(zh_subject)
    # The English subject may quote Chinese data (names) but its own words are English.
    assert re.search(r"[A-Za-z]{4,}", CJK.sub("", en_subject))
    assert "{{" not in zh_body + en_body and "{%" not in zh_body + en_body


def test_times_are_shown_in_local_time_and_nothing_is_html_escaped():
    _subject, body = render("overdue", "zh-hans", {**CONTEXT, "address": "A&B <路>"})
    assert "2026-01-01 16:00" in body  # 08:00 UTC is 16:00 in Shanghai
    assert "A&B <路>" in body


def test_the_escalation_level_is_named_in_the_recipients_language():
    assert "区级" in render("escalated", "zh-hans", CONTEXT)[0]
    assert "district" in render("escalated", "en", CONTEXT)[0]
    assert "街道" in render("escalated", "zh-hans", {**CONTEXT, "level": "subdistrict"})[0]


def test_languages_fall_back_to_the_closest_then_the_default(chinese_default):
    assert language_of("en-us") == "en"
    assert language_of("EN") == "en"
    assert language_of("fr") == "zh-hans"
    assert language_of("") == "zh-hans"
    assert render("closed", "fr", CONTEXT) == render("closed", "zh-hans", CONTEXT)


def test_an_unknown_template_is_refused_by_name():
    with pytest.raises(ValidationFailed) as exc:
        render("nope", "en", CONTEXT)
    assert exc.value.field == "template"


def test_a_recipient_who_prefers_english_gets_english(world, captured, chinese_default):
    handler = world.user("handler")
    Preference.objects.create(user=handler, language="en", wecom_userid="wx_handler")
    n = notify_user(user=handler, template="dispatch", context=CONTEXT, idempotency_key="k")
    assert (n.language, n.address) == ("en", "wx_handler")
    other = notify_user(
        user=world.user("handler_fire"), template="dispatch", context=CONTEXT, idempotency_key="k2"
    )
    assert other.language == "zh-hans"
    from civicgrid.notify.services import notification_send

    for row in Notification.objects.order_by("id"):
        notification_send(notification_id=row.pk)
    english, chinese = captured
    assert english.subject.startswith("New case") and english.address == "wx_handler"
    assert chinese.subject.startswith("【派单】")
