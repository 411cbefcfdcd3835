"""Production: HTTPS only, secure cookies and headers, a shared cache. docs/security.md.

Required environment: DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL. `manage.py check
--deploy` is clean with them set (tested in core/tests/test_hard_abuse.py).
"""

import os

from .base import *  # noqa: F403
from .base import CIVICGRID, PASSWORD_HASHERS, VAR_DIR

DEBUG = False
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
if "Argon2" not in PASSWORD_HASHERS[0]:
    raise RuntimeError("Production hashes new passwords with Argon2 (settings.base).")

# HTTPS: the proxy in front terminates TLS and says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = os.environ.get("DJANGO_SECURE_SSL_REDIRECT", "1") == "1"
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = os.environ.get("DJANGO_HSTS_PRELOAD", "1") == "1"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Cookies: HTTPS only, not readable by scripts (pages take the CSRF token from the template),
# not sent on cross-site requests.
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 3600
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

# Rate limits and login throttling must count across every web process: a shared cache.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
        if (url := os.environ.get("CIVICGRID_REDIS_URL"))
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    )
}
# Behind N proxies, the client is the Nth address from the right of X-Forwarded-For.
_proxies = CIVICGRID["RATE_LIMITS"]["PROXY_COUNT"]
if _proxies:
    AXES_IPWARE_PROXY_COUNT = _proxies
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
