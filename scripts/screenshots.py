#!/usr/bin/env python
"""Serve a demo in a throwaway database and save screenshots of the main pages.

    .venv/bin/python scripts/screenshots.py [--out screenshots] [--lang zh-hans|en] [--world test]

Each page is shot at phone (390x844) and desktop (1440x900) width into `screenshots/`
(gitignored) as <page>-phone.png and <page>-desktop.png. The demo comes from
`manage.py load_demo --size small` when that command is present, else from the test world
(`civicgrid.core.testing.build_world`) plus a few cases in every state. Needs Debian's
chromium at /usr/bin/chromium (or CHROMIUM=/path) and the Python package playwright.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORTS = {"phone": (390, 844), "desktop": (1440, 900)}


def _setup_django(tmp: str) -> None:
    # A fresh SQLite file and media folder: the demo never touches the real database.
    os.environ["DJANGO_SETTINGS_MODULE"] = "civicgrid.settings.dev"
    os.environ["CIVICGRID_VAR_DIR"] = tmp
    os.environ["CIVICGRID_MEDIA_ROOT"] = str(Path(tmp) / "media")
    os.environ.pop("DATABASE_URL", None)
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    import django

    django.setup()


def _photo(seed: int) -> io.BytesIO:
    """A plausible street photo stand-in: sky, pavement, a heap of coloured boxes."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    img = Image.new("RGB", (640, 480), (178, 200, 220))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 250, 640, 480], fill=(150, 150, 145))
    draw.rectangle([40, 80, 250, 260], fill=(196, 180, 160))
    for _ in range(14):
        x, y = rng.randint(260, 560), rng.randint(280, 420)
        color = tuple(rng.randint(40, 230) for _ in range(3))
        draw.rectangle([x, y, x + rng.randint(30, 80), y + rng.randint(20, 60)], fill=color)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=80)
    out.seek(0)
    out.name = f"photo{seed}.jpg"
    return out


def _test_world() -> None:
    """The test world and one case in each step of the loop, with photos."""
    from civicgrid.cases import services as s
    from civicgrid.core.testing import INSIDE, build_world

    w = build_world()
    u = w.user
    texts = [
        ("0101", "楼道口堆放的装修垃圾三天没人清运", "甲小区 3 号楼门口", "G1", 0.0),
        ("0101", "垃圾箱旁边又堆了一堆纸箱", "甲小区 3 号楼旁", "G1", 0.0003),
        ("0102", "早上人行道上有人摆摊卖菜，挡住了路", "乙社区南门", "G2", 0.001),
        ("0101", "绿化带里有大量塑料袋", "甲小区中心花园", "G1", 0.002),
        ("0102", "夜市摊位占用消防通道", "乙社区北侧小路", "G2", -0.002),
        ("0101", "路边垃圾桶满溢", "甲小区西门", "G1", -0.0025),
    ]
    cases = []
    for i, (cat, text, address, grid, d) in enumerate(texts):
        lon, lat = INSIDE[grid]
        upload = s.upload_create(file=_photo(i), actor=u("resident"))
        cases.append(
            s.case_create(
                actor=u("resident") if i % 2 == 0 else None,
                category=cat,
                description=text,
                address=address,
                lon=lon + d,
                lat=lat + d / 2,
                photos=[upload.pk],
                reporter_phone="13800001234",
            ).case
        )
    disp, handler = u("dispatcher"), u("handler")
    for case in cases[2:]:
        s.case_accept(case=case, actor=disp)
    for case in cases[3:]:
        s.case_dispatch(case=case, lead=w.departments["CG"], actor=disp, note="请尽快处理")
    s.case_take(case=cases[4], actor=handler)
    s.case_take(case=cases[5], actor=handler)
    evidence = s.upload_create(file=_photo(99), actor=handler)
    s.case_report_handled(case=cases[5], actor=handler, note="已清运", evidence=[evidence.pk])
    closed = cases[3]
    s.case_take(case=closed, actor=handler)
    s.case_report_handled(case=closed, actor=handler, note="已清理")
    s.case_verify(case=closed, actor=u("inspector"), ok=True, note="现场已干净")
    s.case_close(case=closed, actor=disp)


def _add_duplicate() -> None:
    """A second report, with a photo, a few metres from an open one: the merge panel has work."""
    from civicgrid.cases import services as s
    from civicgrid.cases.models import Case, State

    first = Case.objects.filter(state=State.REPORTED).order_by("-reported_at").first()
    if first is None:
        return
    for i, (dlon, text) in enumerate([(0.0, ""), (0.0002, "又看到了：")]):
        upload = s.upload_create(file=_photo(i + 10), actor=None)
        s.case_create(
            actor=None,
            category=first.category,
            description=text + first.description,
            address=first.address,
            lon=first.lon + dlon,
            lat=first.lat + dlon / 2,
            photos=[upload.pk],
        )


@dataclass
class Cast:
    dispatcher: object
    handler: object
    inspector: object
    operator: object
    resident_case: object  # a closed case a resident may rate (or any case to track)
    desk_case: object
    handler_case: object


def _cast():
    from django.db.models import Count

    from civicgrid.accounts.models import Role, User
    from civicgrid.cases.models import Case, State
    from civicgrid.cases.selectors import case_list_visible_to
    from civicgrid.cases.services import duplicate_candidates

    def busiest(role: str, states: list[str]):
        best, best_n = None, -1
        for user in User.objects.filter(role=role, is_active=True).order_by("username")[:40]:
            n = case_list_visible_to(user=user).filter(state__in=states).count()
            if n > best_n:
                best, best_n = user, n
        return best

    dispatchers = User.objects.filter(role=Role.DISPATCHER, is_active=True).order_by("username")
    dispatcher, desk_case = None, None
    # The merge panel is the one to show: look for a reported case with a likely duplicate.
    for user in dispatchers[:40]:
        for c in case_list_visible_to(user=user).filter(state=State.REPORTED)[:50]:
            if duplicate_candidates(
                category_id=c.category_id, lon=c.lon, lat=c.lat, at=c.reported_at, exclude_id=c.pk
            ):
                dispatcher, desk_case = user, c
                break
        if desk_case:
            break
    if dispatcher is None:
        dispatcher = busiest(Role.DISPATCHER, [State.REPORTED, State.ACCEPTED])
        desk_case = (
            case_list_visible_to(user=dispatcher).filter(state=State.REPORTED).first()
            or case_list_visible_to(user=dispatcher).first()
        )
    handler = busiest(Role.DEPARTMENT_HANDLER, [State.DISPATCHED, State.IN_PROGRESS])
    inspector = busiest(Role.INSPECTOR, [State.HANDLED, State.REPORTED])
    operator = User.objects.filter(role=Role.OPERATOR).order_by("username").first()
    handler_case = (
        case_list_visible_to(user=handler).filter(state=State.IN_PROGRESS).first()
        or case_list_visible_to(user=handler).first()
    )
    closed = (
        Case.objects.filter(state=State.CLOSED)
        .annotate(n=Count("feedback"))
        .filter(n=0)
        .order_by("-closed_at")
        .first()
    )
    return Cast(
        dispatcher,
        handler,
        inspector,
        operator,
        closed or Case.objects.order_by("-reported_at").first(),
        desk_case,
        handler_case,
    )


def _load_world(kind: str) -> str:
    from django.core.management import call_command, get_commands

    call_command("migrate", verbosity=0)
    if kind == "demo" and "load_demo" in get_commands():
        try:
            call_command("load_demo", size="small", verbosity=0, stdout=io.StringIO())
            _add_duplicate()
            return "demo"
        except Exception as exc:  # the demo is optional here; the test world always works
            print(f"load_demo failed ({exc}); using the test world", file=sys.stderr)
            call_command("flush", interactive=False, verbosity=0)
    _test_world()
    return "test world"


def _serve():
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _session_cookie(user, base: str) -> dict:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}


def _pages(cast: Cast) -> list[tuple[str, object, str, str | None]]:
    """(file name, user or None, path, CSS selector to click first or None)."""
    rc = cast.resident_case
    track = f"/track/{rc.number}/?token={rc.tracking_token}"
    return [
        ("01-home", None, "/", None),
        ("02-report", None, "/report/", None),
        ("03-track", None, track, None),
        ("04-login", None, "/accounts/login/", None),
        ("05-patrol", cast.inspector, "/patrol/", None),
        ("06-patrol-report", cast.inspector, "/patrol/report/", None),
        ("07-intake", cast.operator, "/intake/", None),
        ("08-desk", cast.dispatcher, "/desk/", None),
        (
            "09-case-merge",
            cast.dispatcher,
            f"/cases/{cast.desk_case.number}/",
            "[data-panel=merge] summary",
        ),
        ("10-dept", cast.handler, "/dept/", None),
        (
            "11-case-handler",
            cast.handler,
            f"/cases/{cast.handler_case.number}/",
            "[data-panel=report_handled] summary",
        ),
        ("12-map", cast.dispatcher, "/map/", None),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    parser.add_argument("--lang", default="zh-hans", choices=["zh-hans", "en"])
    parser.add_argument("--world", default="demo", choices=["demo", "test"])
    parser.add_argument("--only", default="", help="comma-separated page names to shoot")
    args = parser.parse_args()
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        print(f"{chromium} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="civicgrid-screens-")
    _setup_django(tmp)
    world = _load_world(args.world)
    cast = _cast()
    server, base = _serve()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    locale = "zh-CN" if args.lang == "zh-hans" else "en-US"
    wanted = {n for n in args.only.split(",") if n}

    from playwright.sync_api import sync_playwright

    print(f"serving the {world} at {base}; writing to {out}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for name, user, path, click in _pages(cast):
            if wanted and name not in wanted:
                continue
            for size, (width, height) in VIEWPORTS.items():
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    locale=locale,
                    is_mobile=size == "phone",
                    has_touch=size == "phone",
                    extra_http_headers={"Accept-Language": locale},
                )
                context.add_cookies([{"name": "django_language", "value": args.lang, "url": base}])
                if user is not None:
                    context.add_cookies([_session_cookie(user, base)])
                page = context.new_page()
                page.goto(base + path, wait_until="networkidle")
                if click and page.locator(click).count():
                    page.locator(click).first.click()
                if page.locator("[data-map]").count():
                    try:
                        page.wait_for_selector("[data-map-loaded]", timeout=15000)
                    except Exception:
                        print(f"  {name}: map not drawn in time", file=sys.stderr)
                    page.wait_for_timeout(600)
                # Grow the window to the whole page, so that sticky and fixed bars sit at
                # its real bottom instead of across the middle of a stitched full-page shot.
                full = page.evaluate("document.documentElement.scrollHeight")
                if full > height:
                    page.set_viewport_size({"width": width, "height": full})
                    page.wait_for_timeout(400)
                file = out / f"{name}-{size}.png"
                page.screenshot(path=str(file))
                print(f"  {file.relative_to(out.parent) if out.is_absolute() else file}")
                context.close()
        browser.close()
    server.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
