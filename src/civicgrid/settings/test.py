import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import CIVICGRID, DATABASES

DEBUG = False
# Fast hashing: the strength of the production hasher is checked in its own test.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="civicgrid-test-media-"))
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
CIVICGRID = CIVICGRID.copy()
CIVICGRID["BASEMAP_TILE_URL"] = ""
# Many tests post from one address; the rate limit and login-throttling tests turn these on.
CIVICGRID["RATE_LIMITS"] = {**CIVICGRID["RATE_LIMITS"], "ENABLED": False}
AXES_ENABLED = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so tests with threads get real separate connections and the same
    # locking as production; each process (each pytest-xdist worker, each concurrent run) gets
    # its own file.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"civicgrid-test-{os.getpid()}.sqlite3")
    }
else:
    # Concurrent test runs on one server (developers, helpers) must not share a test database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}

# Tests assert on the English source strings; the Chinese default is checked by the
# translation tests, which switch LANGUAGE_CODE back to zh-hans explicitly.
LANGUAGE_CODE = "en"
