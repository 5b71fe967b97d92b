"""Reads the environment once. A bad value fails here, at start-up, with a clear message."""

from __future__ import annotations

import base64
import binascii

import environ
from django.core.exceptions import ImproperlyConfigured

BOOLEAN_WORDS = {
    True: {"1", "true", "yes", "on", "y", "ok"},
    False: {"0", "false", "no", "off", "n"},
}
DATABASE_ENGINES = {"django.db.backends.postgresql", "django.db.backends.sqlite3"}


class StrictEnv(environ.Env):
    """django-environ's reader, strict: a value its variable cannot take stops start-up with
    ImproperlyConfigured naming the variable. (django-environ raised a bare ValueError, without
    the name, and read any unknown word as a false boolean.) An empty value counts as unset,
    as in ``.env.example``'s ``NAME=`` lines."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        raw = self.ENVIRON.get(var)
        if raw is not None and not raw.strip() and cast not in (None, str):
            if default is self.NOTSET:
                raise ImproperlyConfigured(f"{var} must be set")
            return default
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ValueError as exc:
            message = f"{var} must be {_kind(cast)}, got {raw!r}{_hint(raw)}"
            raise ImproperlyConfigured(message) from exc

    @classmethod
    def parse_value(cls, value, cast):
        if cast is bool and isinstance(value, str):
            word = value.strip().lower()
            if word not in BOOLEAN_WORDS[True] | BOOLEAN_WORDS[False]:
                raise ValueError(value)
            return word in BOOLEAN_WORDS[True]
        if cast is float and isinstance(value, str):
            return float(value)  # django-environ drops what is not a digit: "30s" was 30.0
        return super().parse_value(value, cast)

    def db_url(self, var="DATABASE_URL", default=environ.Env.NOTSET, engine=None) -> dict:
        raw = self.ENVIRON.get(var, "").strip()
        if not raw:
            if default is self.NOTSET:
                raise ImproperlyConfigured(f"{var} must be set")
            raw = default
        # The value is never echoed: it may hold a password.
        message = f"{var} must look like postgres://user:password@host:5432/name or sqlite:///path"
        try:
            config = self.db_url_config(raw, engine=engine)
        except ValueError:
            raise ImproperlyConfigured(message) from None
        if config.get("ENGINE") not in DATABASE_ENGINES:
            raise ImproperlyConfigured(message)
        return config

    db = db_url


def _kind(cast) -> str:
    return {
        int: "an integer",
        float: "a number",
        bool: "a boolean (1/0, true/false, yes/no, on/off)",
        list: "a comma-separated list",
    }.get(cast, f"a {getattr(cast, '__name__', 'valid value')}")


def _hint(raw: str | None) -> str:
    if raw and "#" in raw:
        return (
            "; in an env file a comment after a value is part of the value:"
            " put comments on lines of their own"
        )
    return ""


env = StrictEnv()


def require(name: str, value: object, why: str) -> None:
    if not value:
        raise ImproperlyConfigured(f"{name} must be set: {why}")


def parse_encryption_keys(raw: str) -> list[bytes]:
    """FIELD_ENCRYPTION_KEY: comma-separated urlsafe-base64 32-byte keys, newest first."""
    keys = []
    for position, item in enumerate(k.strip() for k in raw.split(",") if k.strip()):
        try:
            key = base64.urlsafe_b64decode(item + "=" * (-len(item) % 4))
        except (binascii.Error, ValueError) as exc:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEY item {position + 1} is not urlsafe base64"
            ) from exc
        if len(key) != 32:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEY item {position + 1} must decode to 32 bytes, not {len(key)}"
            )
        keys.append(key)
    return keys


def derived_dev_key(secret_key: str) -> bytes:
    """A development-only field key derived from SECRET_KEY, so `make run` needs no set-up."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"field-encryption").derive(
        secret_key.encode()
    )


def positive_int(name: str, default: int) -> int:
    value = env.int(name, default=default)
    if value <= 0:
        raise ImproperlyConfigured(f"{name} must be a positive integer, got {value}")
    return value


def positive_float(name: str, default: float) -> float:
    value = env.float(name, default=default)
    if not value > 0 or value == float("inf"):
        raise ImproperlyConfigured(f"{name} must be a positive number of seconds, got {value}")
    return value
