"""Reads the environment once. A bad value fails here, at start-up, with a clear message."""

from __future__ import annotations

import base64
import binascii

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


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
