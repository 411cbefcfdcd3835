"""End to end in headless Chromium: one case around the whole loop, each role in its own browser.

A resident reports with a photo and the phone's location and follows the case; a dispatcher
accepts and dispatches it; the department handler takes it and reports it handled with
evidence; the grid inspector verifies it on site; the dispatcher closes it; the resident rates
it through the private link. Every step is a click in the page, and no step reloads the page.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from civicgrid.cases.models import AttachmentKind, Case, Feedback, State
from civicgrid.core.testing import INSIDE

from .conftest import png

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls from a
# thread with a running loop unless told that this is safe, which it is here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The same patience as page.set_default_timeout below: CI machines are slow and shared.
expect.set_options(timeout=15_000)
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is missing (apt-get install chromium); CI installs it",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    vendor = Path(settings.BASE_DIR) / "static" / "vendor" / "htmx" / "htmx.min.js"
    if not vendor.exists():
        pytest.fail("The front-end libraries are not in static/vendor: run `make static`.")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, live_server):
    contexts = []

    def make(*, user: str | None = None, viewport: dict = DESK, **options: object):
        context = browser.new_context(viewport=viewport, locale="en-US", **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        if user:
            page.goto(f"{live_server.url}/accounts/login/")
            page.fill("#id_username", user)
            page.fill("#id_password", f"pw-{user}")
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    yield make
    for context in contexts:
        context.close()


def _mark(page) -> None:
    """A flag that only survives if the page is not reloaded."""
    page.evaluate("window.__noReload = true")


def _not_reloaded(page) -> bool:
    return page.evaluate("window.__noReload === true")


def _image(tmp_path: Path, name: str, color: str) -> str:
    path = tmp_path / name
    path.write_bytes(png(color, (64, 48)))
    return str(path)


def test_one_case_around_the_whole_loop(world, live_server, open_page, tmp_path):
    lon, lat = INSIDE["G1"]

    # A resident on a phone, without an account, reports with a photo and the GPS position.
    resident = open_page(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": lon, "latitude": lat},
        permissions=["geolocation"],
    )
    resident.goto(f"{live_server.url}/report/")
    resident.select_option("#id_major", "01")
    # expect() polls from Playwright's side; wait_for_function would eval() a string in the
    # page, which our Content-Security-Policy (no 'unsafe-eval') rightly refuses.
    expect(resident.locator("#id_category option[value]")).to_have_count(3)
    resident.select_option("#id_category", "0101")
    resident.fill("#id_description", "楼道口垃圾三天没人清")
    resident.click("[data-locate]")
    expect(resident.locator("#id_lon")).not_to_have_value("")
    resident.set_input_files("#id_photos", _image(tmp_path, "before.png", "red"))
    resident.click("[data-submit=report]")
    resident.wait_for_url("**/thanks/")
    number = resident.inner_text("[data-case-number]").strip()
    case = Case.objects.get(number=number)
    assert case.attachments.get().kind == AttachmentKind.PHOTO
    assert abs(case.lon - lon) < 1e-6 and abs(case.lat - lat) < 1e-6
    resident.click("[data-testid=follow-link]")
    resident.wait_for_selector("[data-state=reported]")

    # The dispatcher accepts it from the intake queue and dispatches it from the case page.
    dispatcher = open_page(user="dispatcher")
    assert dispatcher.url.endswith("/desk/")
    _mark(dispatcher)
    dispatcher.click(f"#row-{number} [data-quick=accept]")
    dispatcher.wait_for_selector(f"#row-{number} .badge.accepted")
    assert _not_reloaded(dispatcher)
    dispatcher.goto(f"{live_server.url}/cases/{number}/")
    _mark(dispatcher)
    dispatcher.click("[data-panel=dispatch] summary")
    dispatcher.select_option("#id_dispatch-lead", "CG")
    dispatcher.click("[data-panel=dispatch] [data-act=dispatch]")
    dispatcher.wait_for_selector("#case-main[data-state=dispatched] [data-done]")
    assert _not_reloaded(dispatcher)

    # The department handler takes it and reports it handled with an evidence photo.
    handler = open_page(user="handler")
    assert handler.url.endswith("/dept/")
    handler.click(f"#row-{number} [data-quick=take]")
    handler.wait_for_selector(f"#row-{number} .badge.in_progress")
    handler.goto(f"{live_server.url}/cases/{number}/")
    _mark(handler)
    handler.click("[data-panel=report_handled] summary")
    handler.fill("#id_report_handled-note", "已清运完毕")
    handler.set_input_files("#id_report_handled-photos", _image(tmp_path, "evidence.png", "green"))
    handler.click("[data-act=report_handled]")
    handler.wait_for_selector("#case-main[data-state=handled]")
    assert _not_reloaded(handler)

    # The grid inspector finds it on the phone's task list and verifies it on site.
    inspector = open_page(user="inspector", viewport=PHONE, is_mobile=True, has_touch=True)
    assert inspector.url.endswith("/patrol/")
    inspector.click(f"#verify a[href='/cases/{number}/']")
    _mark(inspector)
    inspector.click("[data-panel=verify] summary")
    inspector.check("#id_verify-ok_0")
    inspector.set_input_files("#id_verify-photos", _image(tmp_path, "after.png", "blue"))
    inspector.click("[data-act=verify]")
    inspector.wait_for_selector("#case-main[data-state=verified]")
    assert _not_reloaded(inspector)

    # The dispatcher closes it.
    dispatcher.goto(f"{live_server.url}/cases/{number}/")
    dispatcher.click("[data-act=close]")
    dispatcher.wait_for_selector("#case-main[data-state=closed]")

    # The resident comes back through the private link and rates the result.
    resident.reload()
    _mark(resident)
    resident.check("#id_satisfaction_0")
    resident.fill("#id_text", "处理得很快，谢谢")
    resident.click("[data-submit=feedback]")
    resident.wait_for_selector("[data-rated]")
    assert _not_reloaded(resident)

    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert Feedback.objects.get(case=case).satisfaction == 5
    kinds = sorted(case.attachments.values_list("kind", flat=True))
    assert kinds == sorted([AttachmentKind.PHOTO, AttachmentKind.EVIDENCE, AttachmentKind.AFTER])


def test_a_report_without_a_place_shows_the_error_beside_the_map(world, live_server, open_page):
    page = open_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(f"{live_server.url}/report/")
    _mark(page)
    page.select_option("#id_category", "0101")
    page.fill("#id_description", "路灯坏了")
    page.click("[data-submit=report]")
    error = page.wait_for_selector("#id_lon_error")
    assert "map" in error.inner_text()
    assert page.get_attribute("#id_lon", "aria-invalid") == "true"
    assert page.input_value("#id_description") == "路灯坏了"
    assert _not_reloaded(page)
    assert not Case.objects.exists()


def test_a_tap_on_the_map_places_the_report(world, live_server, open_page):
    page = open_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(f"{live_server.url}/report/")
    page.wait_for_selector("[data-map][data-map-loaded]")
    canvas = page.locator("[data-map] canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    canvas.click(position={"x": box["width"] / 2, "y": box["height"] / 3})
    expect(page.locator("#id_lon")).not_to_have_value("")
    lon = float(page.input_value("#id_lon"))
    lat = float(page.input_value("#id_lat"))
    assert 121.39 < lon < 121.44 and 31.19 < lat < 31.22


@pytest.mark.parametrize(
    ("user", "path"),
    [
        (None, "/report/"),
        ("dispatcher", "/desk/"),
        ("dispatcher", "/map/"),
        ("operator", "/intake/"),
        ("inspector", "/patrol/"),
    ],
)
def test_pages_fit_a_360_px_phone(world, live_server, open_page, user, path):
    page = open_page(user=user, viewport={"width": 360, "height": 740}, is_mobile=True)
    page.goto(f"{live_server.url}{path}")
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 360, f"{path} is {overflow}px wide"


def test_operator_takes_a_call_with_suggestions_as_they_type(world, live_server, open_page):
    page = open_page(user="operator")
    assert page.url.endswith("/intake/")
    _mark(page)
    page.fill("#id_reporter_phone", "13800002222")
    page.fill("#category-search", "垃圾")
    page.click("#category-suggest [data-pick-category='0101']")
    assert page.input_value("#id_category") == "0101"
    page.fill("#id_description", "小区门口垃圾满了")
    page.fill("#id_address", "G2")
    page.click("text=Find this place")
    page.click("#place-suggest [data-pick-place]")
    assert page.input_value("#id_lon") != ""
    page.click("[data-submit=report]")
    filed = page.wait_for_selector("[data-filed]")
    number = filed.get_attribute("data-filed")
    # The list of today's calls refreshes itself when the server says a case was filed.
    page.wait_for_selector(f"#recent-calls #row-{number}")
    assert page.input_value("#id_description") == ""
    assert _not_reloaded(page)
    case = Case.objects.get(number=number)
    assert case.source == "hotline" and case.management_grid.code == "G2"


def test_desk_queues_switch_in_place(world, live_server, open_page, reported_case):
    page = open_page(user="dispatcher")
    _mark(page)
    page.click("[data-queue=dispatch]")
    page.wait_for_selector("[data-queue=dispatch][aria-current=page]")
    assert page.locator(f"#row-{reported_case.number}").count() == 0
    page.click("[data-queue=intake]")
    page.wait_for_selector(f"#row-{reported_case.number}")
    assert page.url.endswith("?queue=intake")
    assert _not_reloaded(page)
