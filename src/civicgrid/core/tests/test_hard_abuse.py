"""Abuse: rate limits with 429 and Retry-After, CSRF on every page, secure headers and cookies,
Argon2, login throttling, uploads that lie about themselves, input PostgreSQL cannot store.

Checks that walk the URL conf cover new pages the day they land.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image, PngImagePlugin

from civicgrid.accounts.models import ApiToken
from civicgrid.cases.models import Case, Upload
from civicgrid.core import ratelimit
from civicgrid.core.management.commands.reliability_report import record_figures
from civicgrid.core.middleware import unstorable
from civicgrid.core.testing import INSIDE
from civicgrid.core.tests.test_hard_matrix import page_routes, page_url

pytestmark = [pytest.mark.hard, pytest.mark.django_db]
ROOT = Path(__file__).resolve().parents[4]


def case_body(**extra):
    lon, lat = INSIDE["G1"]
    return {"category": "0101", "description": "垃圾", "lon": lon, "lat": lat, **extra}


@pytest.fixture
def limits(settings):
    """Rate limits on, with small numbers, and a clean count."""
    rules = {
        "report": {"limit": 3, "window": 600},
        "upload": {"limit": 2, "window": 600},
        "public_action": {"limit": 2, "window": 600},
        "public_read": {"limit": 4, "window": 60},
    }
    conf = {**settings.CIVICGRID["RATE_LIMITS"], "ENABLED": True, "RULES": rules}
    settings.CIVICGRID = {**settings.CIVICGRID, "RATE_LIMITS": conf}
    cache.clear()
    yield rules
    cache.clear()


def assert_429(response):
    assert response.status_code == 429, response.content[:300]
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 600


# --- rate limits ----------------------------------------------------------------------------
def test_anonymous_reports_are_limited_per_address(world, limits):
    client = Client()
    for _ in range(3):
        r = client.post("/api/cases", case_body(), content_type="application/json")
        assert r.status_code == 201
    r = client.post("/api/cases", case_body(), content_type="application/json")
    assert_429(r)
    assert r.json()["code"] == "rate_limited"
    assert Case.objects.count() == 3
    # Another address is counted on its own.
    other = client.post(
        "/api/cases", case_body(), content_type="application/json", REMOTE_ADDR="10.9.8.7"
    )
    assert other.status_code == 201


def test_invented_tokens_buy_no_extra_requests(world, limits):
    client = Client()
    for i in range(4):
        r = client.post(
            "/api/cases",
            case_body(),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer made-up-{i}",
        )
    assert r.status_code in (401, 429)
    r = client.post("/api/cases", case_body(), content_type="application/json")
    assert_429(r)


def test_a_staff_token_gets_the_staff_allowance(world, limits):
    client = Client()
    token = {"HTTP_AUTHORIZATION": f"Bearer {world.tokens['hotline']}"}
    for _ in range(10):
        r = client.post("/api/cases", case_body(), content_type="application/json", **token)
        assert r.status_code == 201


def test_forwarded_for_is_ignored_unless_a_proxy_is_configured(world, limits, settings):
    client = Client()
    for i in range(4):
        r = client.post(
            "/api/cases",
            case_body(),
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",
        )
    assert_429(r)
    conf = {**settings.CIVICGRID["RATE_LIMITS"], "PROXY_COUNT": 1}
    settings.CIVICGRID = {**settings.CIVICGRID, "RATE_LIMITS": conf}
    r = client.post(
        "/api/cases", case_body(), content_type="application/json", HTTP_X_FORWARDED_FOR="10.1.1.1"
    )
    assert r.status_code == 201


def png(size=(40, 30), **info) -> bytes:
    out = io.BytesIO()
    meta = PngImagePlugin.PngInfo()
    for k, v in info.items():
        meta.add_text(k, v)
    Image.new("RGB", size, (10, 120, 60)).save(out, format="PNG", pnginfo=meta)
    return out.getvalue()


def test_uploads_tracking_support_and_pages_are_limited(reported_case, limits):
    client = Client()
    for _ in range(2):
        r = client.post(
            "/api/cases/uploads", {"file": SimpleUploadedFile("a.png", png(), "image/png")}
        )
        assert r.status_code == 201
    r = client.post("/api/cases/uploads", {"file": SimpleUploadedFile("a.png", png(), "image/png")})
    assert_429(r)

    number = reported_case.number
    for _ in range(4):
        assert client.get(f"/api/public/cases/{number}").status_code == 200
    assert_429(client.get(f"/api/public/cases/{number}"))
    page = client.get(f"/track/{number}/")
    assert_429(page)
    assert page["Content-Type"].startswith("text/html")

    for _ in range(2):
        client.post(f"/api/public/cases/{number}/support")
    assert_429(client.post(f"/api/public/cases/{number}/support"))


def test_the_report_page_and_open311_post_are_limited(world, limits):
    client = Client()
    for _ in range(3):
        client.post("/report/", {"description": "x"})
    assert_429(client.post("/report/", {"description": "x"}))

    client = Client(REMOTE_ADDR="10.3.3.3")
    for _ in range(3):
        client.post("/open311/v2/requests.xml", {"service_code": "0101"})
    r = client.post("/open311/v2/requests.xml", {"service_code": "0101"})
    assert_429(r)
    assert b"<errors>" in r.content and b"<code>429</code>" in r.content


def test_a_window_ends_and_the_client_may_try_again(limits):
    rule = ratelimit.Rule("report", limit=2, window=60)
    t0 = 1_800_000_000.0
    assert ratelimit.hit(rule, "ip:1", now=t0) is None
    assert ratelimit.hit(rule, "ip:1", now=t0 + 1) is None
    assert ratelimit.hit(rule, "ip:1", now=t0 + 2) == 58
    assert ratelimit.hit(rule, "ip:1", now=t0 + 60) is None


def test_every_route_rule_exists_and_future_qr_pages_are_covered():
    for _pattern, _methods, name in django_settings.CIVICGRID["RATE_LIMITS"]["ROUTES"]:
        assert ratelimit.rule(name).limit > 0
    assert ratelimit.rule_for(view_name="shops:qr", route="s/<token>/", method="POST").name == (
        "report"
    )
    assert ratelimit.rule_for(view_name="api:list_cases", route="api/cases", method="GET") is None


# --- CSRF on every page that takes a POST -----------------------------------------------------
CSRF_EXEMPT = ("open311:",)  # third-party clients post with api_key, not our cookie


def test_every_page_refuses_a_post_without_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.user("admin"))
    checked = 0
    for route, name in page_routes():
        if name.startswith(CSRF_EXEMPT):
            continue
        r = client.post(page_url(route, "202601010000001"), {"x": "1"})
        assert r.status_code == 403 and b"CSRF" in r.content, (name, r.status_code)
        checked += 1
    assert checked > 30
    # The API's session door needs it too; a bearer token does not.
    assert client.post("/api/cases/1/accept", {}, content_type="application/json").status_code in (
        401,
        403,
    )
    record_figures("abuse", csrf_routes=checked)


def test_a_page_post_with_the_token_passes_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.get("/report/")
    token = client.cookies["csrftoken"].value
    r = client.post("/report/", {"csrfmiddlewaretoken": token, "description": ""})
    assert r.status_code != 403


# --- headers, cookies, CSP ---------------------------------------------------------------------
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", re.I)


def test_every_inline_script_carries_the_request_nonce(world):
    client = Client()
    client.force_login(world.user("admin"))
    pages = 0
    for route, name in page_routes():
        if name.startswith(("admin:", "open311:")):
            continue
        r = client.get(page_url(route, "202601010000001"))
        if r.status_code != 200 or "text/html" not in r.get("Content-Type", ""):
            continue
        csp = r["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
        for attrs in INLINE_SCRIPT.findall(r.content.decode()):
            assert f'nonce="{nonce}"' in attrs, (name, attrs)
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        pages += 1
    assert pages >= 5


PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "civicgrid.settings.prod",
    "DJANGO_SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-key-0123456789",
    "DJANGO_ALLOWED_HOSTS": "grid.example.org",
    "CIVICGRID_VAR_DIR": "/tmp/civicgrid-prod-check",
}


def run_prod(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **PROD_ENV}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_under_the_production_settings():
    r = run_prod("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout


def test_production_settings_harden_cookies_headers_and_hashing():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ["
        "'SESSION_COOKIE_SECURE','SESSION_COOKIE_HTTPONLY','SESSION_COOKIE_SAMESITE',"
        "'CSRF_COOKIE_SECURE','CSRF_COOKIE_HTTPONLY','SECURE_HSTS_SECONDS','SECURE_SSL_REDIRECT',"
        "'SECURE_CONTENT_TYPE_NOSNIFF','SECURE_REFERRER_POLICY','X_FRAME_OPTIONS','DEBUG',"
        "'PASSWORD_HASHERS','MIDDLEWARE']}))"
    )
    r = run_prod("-c", code)
    assert r.returncode == 0, r.stderr
    import json

    conf = json.loads(r.stdout)
    assert conf["SESSION_COOKIE_SECURE"] and conf["CSRF_COOKIE_SECURE"]
    assert conf["SESSION_COOKIE_HTTPONLY"] and conf["CSRF_COOKIE_HTTPONLY"]
    assert conf["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert conf["SECURE_HSTS_SECONDS"] >= 31536000 and conf["SECURE_SSL_REDIRECT"]
    assert conf["SECURE_CONTENT_TYPE_NOSNIFF"] and conf["X_FRAME_OPTIONS"] == "DENY"
    assert conf["SECURE_REFERRER_POLICY"] == "same-origin" and not conf["DEBUG"]
    assert conf["PASSWORD_HASHERS"][0].endswith("Argon2PasswordHasher")
    assert "civicgrid.core.middleware.SecurityHeadersMiddleware" in conf["MIDDLEWARE"]
    assert "axes.middleware.AxesMiddleware" in conf["MIDDLEWARE"]


def test_a_secure_response_carries_the_security_headers(world, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    r = Client().get("/", secure=True)
    assert r["Strict-Transport-Security"].startswith("max-age=31536000")
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"
    assert r["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in r["Content-Security-Policy"]
    assert "geolocation=(self)" in r["Permissions-Policy"]


def test_passwords_are_hashed_with_argon2_in_production():
    from civicgrid.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS):
        encoded = make_password("correct horse battery staple")
    assert encoded.startswith("argon2$argon2id$")


# --- login throttling ------------------------------------------------------------------------
def test_repeated_failed_logins_lock_the_username_from_that_address(world, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    client = Client(REMOTE_ADDR="10.7.7.7")
    for _ in range(2):
        r = client.post("/accounts/login/", {"username": "dispatcher", "password": "wrong"})
        assert r.status_code == 200  # the form again, with its error
    r = client.post("/accounts/login/", {"username": "dispatcher", "password": "wrong"})
    assert r.status_code == 429  # the third failure locks
    r = client.post("/accounts/login/", {"username": "dispatcher", "password": "pw-dispatcher"})
    assert r.status_code == 429
    # The same user from another address, and another user from this one, may still sign in.
    other = Client(REMOTE_ADDR="10.8.8.8")
    r = other.post("/accounts/login/", {"username": "dispatcher", "password": "pw-dispatcher"})
    assert r.status_code == 302
    r = client.post("/accounts/login/", {"username": "head", "password": "pw-head"})
    assert r.status_code == 302


# --- uploads -----------------------------------------------------------------------------------
def post_upload(data: bytes, name: str = "p.png", ctype: str = "image/png"):
    return Client().post(
        "/api/cases/uploads", {"file": SimpleUploadedFile(name, data, content_type=ctype)}
    )


def media_files() -> list[Path]:
    return [p for p in Path(django_settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_a_decompression_bomb_is_refused_without_decoding(world, settings):
    settings.CIVICGRID = {**settings.CIVICGRID, "UPLOAD_MAX_PIXELS": 10_000}
    before = len(media_files())
    # 1.5 times the limit: Pillow itself would only warn here.
    r = post_upload(png(size=(150, 100)))
    assert r.status_code == 422 and r.json()["field"] == "file"
    assert Upload.objects.count() == 0 and len(media_files()) == before


def test_type_comes_from_the_content_not_from_the_name_or_header(world):
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, format="JPEG")
    r = post_upload(out.getvalue(), name="photo.png", ctype="image/png")
    assert r.status_code == 201
    upload = Upload.objects.get(pk=r.json()["id"])
    assert upload.content_type == "image/jpeg" and upload.file.name.endswith(".jpg")


@pytest.mark.parametrize(
    "data,name",
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg"),
        (b"%PDF-1.4 not an image", "x.png"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "x.gif"),
    ],
)
def test_non_images_and_other_formats_are_refused(world, data, name):
    out = io.BytesIO()
    if name.endswith(".gif"):
        Image.new("P", (4, 4)).save(out, format="GIF")
        data = out.getvalue()
    r = post_upload(data, name=name, ctype="image/png")
    assert r.status_code == 422 and r.json()["field"] == "file"
    assert Upload.objects.count() == 0


def test_text_and_location_metadata_are_stripped_from_png(world):
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (31.0, 12.0, 0.0), 3: "E", 4: (121.0, 24.0, 0.0)}
    out = io.BytesIO()
    meta = PngImagePlugin.PngInfo()
    meta.add_text("Comment", "home: 31.2N 121.4E")
    Image.new("RGB", (30, 30)).save(out, format="PNG", pnginfo=meta, exif=exif)
    r = post_upload(out.getvalue())
    assert r.status_code == 201
    stored = Upload.objects.get(pk=r.json()["id"])
    with stored.file.open("rb") as f:
        raw = f.read()
    assert b"home: 31.2N" not in raw
    with Image.open(io.BytesIO(raw)) as img:
        assert 0x8825 not in img.getexif() and "Comment" not in img.info


# --- input the database could not store ---------------------------------------------------------
def test_input_postgresql_cannot_store_is_a_422_naming_the_field(world):
    token = ApiToken.objects.select_related("user").get(name="12345 platform")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world.tokens['hotline']}"}
    assert token.user.username == "operator"
    client = Client()
    r = client.post(
        "/api/cases", case_body(category="01\x0001"), content_type="application/json", **auth
    )
    assert r.status_code == 422 and r.json()["field"] == "category"
    r = client.get("/api/cases", {"reported_from": "2026-05-09T03:37:15+19:49"}, **auth)
    assert r.status_code == 422 and r.json()["field"] == "reported_from"
    r = client.get("/api/cases", {"offset": str(2**70)}, **auth)
    assert r.status_code == 422 and r.json()["field"] == "offset"
    assert unstorable("2026-05-09T03:37:15+08:00") is None
    assert unstorable("an ordinary search text") is None
