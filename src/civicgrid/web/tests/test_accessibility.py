"""Every form control on every page has a label a screen reader can announce."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class Controls(HTMLParser):
    """Collects form controls and the ids that some <label for=…> names."""

    def __init__(self) -> None:
        super().__init__()
        self.label_for: set[str] = set()
        self.in_label = 0
        self.controls: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.label_for.add(a["for"] or "")
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and (a.get("type") or "text") in UNLABELLED_TYPES:
                return
            self.controls.append({**a, "_tag": tag, "_wrapped": "1" if self.in_label else ""})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self.in_label:
            self.in_label -= 1

    def unlabelled(self) -> list[str]:
        return [
            f"<{c['_tag']} name={c.get('name')}>"
            for c in self.controls
            if not (
                c["_wrapped"]
                or c.get("aria-label")
                or c.get("aria-labelledby")
                or (c.get("id") and c["id"] in self.label_for)
            )
        ]


PAGES = [
    (None, "/"),
    (None, "/report/"),
    (None, "/track/"),
    (None, "/accounts/login/"),
    ("resident", "/accounts/password_change/"),
    ("inspector", "/patrol/"),
    ("inspector", "/patrol/report/"),
    ("operator", "/intake/"),
    ("dispatcher", "/desk/"),
    ("dispatcher", "/map/"),
    ("handler", "/dept/"),
]


@pytest.mark.parametrize(("user", "path"), PAGES)
def test_every_control_on_the_page_has_a_label(world, client_for, user, path):
    response = client_for(user).get(path)
    assert response.status_code == 200
    parser = Controls()
    parser.feed(response.content.decode())
    assert parser.controls, "the page should have a form"
    assert parser.unlabelled() == []


@pytest.mark.parametrize(
    ("user", "fixture"),
    [
        ("dispatcher", "reported_case"),
        ("dispatcher", "dispatched_case"),
        ("inspector", "reported_case"),
        ("inspector", "handled_case"),
        ("handler", "dispatched_case"),
    ],
)
def test_every_control_in_the_action_panels_has_a_label(world, client_for, request, user, fixture):
    case = request.getfixturevalue(fixture)
    response = client_for(user).get(f"/cases/{case.number}/")
    assert response.status_code == 200
    parser = Controls()
    parser.feed(response.content.decode())
    assert parser.controls, "the case should offer this user an action with a form"
    assert parser.unlabelled() == []


def test_signed_in_user_changes_the_password_and_signs_out(world, client_for):
    client = client_for("resident")
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "pw-resident",
            "new_password1": "a-much-longer-pass-2024",
            "new_password2": "a-much-longer-pass-2024",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/accounts/password_change/done/"
    world.user("resident").refresh_from_db()
    assert world.user("resident").check_password("a-much-longer-pass-2024")
    out = client.post("/accounts/logout/", {"next": "/"}, follow=True)
    assert out.status_code == 200 and not out.context["user"].is_authenticated


def test_a_wrong_old_password_is_shown_next_to_that_field(world, client_for):
    response = client_for("resident").post(
        "/accounts/password_change/",
        {
            "old_password": "nope",
            "new_password1": "x-long-pass-99",
            "new_password2": "x-long-pass-99",
        },
    )
    assert response.status_code == 200
    assert 'id="id_old_password_error"' in response.content.decode()
