"""Test settings: the real settings, made faster. Nothing here changes behaviour under test."""

import os

os.environ.setdefault("TESTING", "1")

import tempfile

from config.settings import *  # noqa: F403
from config.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The test client and the test servers speak plain HTTP on loopback.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# Tests that start real server processes need a database those processes can open too.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"voiceplatform-test-{os.getpid()}.sqlite3")
    }
