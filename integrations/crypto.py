"""Authenticated encryption of secrets at rest (AES-256-GCM), with key rotation.

A token is ``v1.<key_id>.<urlsafe-b64(nonce || ciphertext+tag)>``. The key id is a short,
non-secret fingerprint of the key, so rotation only needs the old key to stay listed (newest
first) until ``reencrypt_secrets`` has run. The version, key id and a *purpose* string are bound
in as associated data: a token copied into another field (another purpose) fails to decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.exceptions import ImproperlyConfigured

FORMAT_VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12  # the GCM standard nonce; random per message
TAG_BYTES = 16


class DecryptionError(Exception):
    """A token is malformed, was tampered with, has another purpose or an unknown key."""


def key_id(key: bytes) -> str:
    """A short fingerprint that names a key in tokens without revealing it."""
    return hashlib.sha256(b"field-key:" + key).hexdigest()[:8]


def generate_key() -> str:
    """A new key in the form FIELD_ENCRYPTION_KEY expects (urlsafe base64 of 32 bytes)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


@dataclass(frozen=True)
class Keyring:
    """The field keys, newest first. The newest encrypts; all of them decrypt."""

    keys: tuple[bytes, ...]
    _by_id: dict[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS holds no key")
        by_id: dict[str, AESGCM] = {}
        for position, key in enumerate(self.keys):
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise ImproperlyConfigured(
                    f"FIELD_ENCRYPTION_KEYS item {position + 1} must be {KEY_BYTES} bytes"
                )
            by_id.setdefault(key_id(key), AESGCM(key))
        object.__setattr__(self, "_by_id", by_id)

    def __repr__(self) -> str:  # the dataclass repr would print the keys
        return f"Keyring(ids={list(self._by_id)})"

    @property
    def newest_id(self) -> str:
        return key_id(self.keys[0])

    def encrypt(self, plaintext: str, purpose: str) -> str:
        kid = self.newest_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._by_id[kid].encrypt(nonce, plaintext.encode(), _aad(kid, purpose))
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{FORMAT_VERSION}.{kid}.{body}"

    def decrypt(self, token: str, purpose: str) -> str:
        kid, blob = _parse(token)
        aead = self._by_id.get(kid)
        if aead is None:
            raise DecryptionError(f"no configured key has id {kid!r}")
        try:
            plain = aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(kid, purpose))
        except InvalidTag as exc:
            raise DecryptionError("token was tampered with or belongs to another field") from exc
        return plain.decode()

    def needs_reencryption(self, token: str) -> bool:
        kid, _ = _parse(token)
        return kid != self.newest_id


def _aad(kid: str, purpose: str) -> bytes:
    return f"{FORMAT_VERSION}|{kid}|{purpose}".encode()


def _parse(token: str) -> tuple[str, bytes]:
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != FORMAT_VERSION:
        raise DecryptionError("not an encrypted-field token")
    try:
        blob = base64.urlsafe_b64decode(parts[2].encode("ascii"))
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("token body is not urlsafe base64") from exc
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("token body is too short")
    return parts[1], blob


def settings_keyring() -> Keyring:
    """The keyring from ``settings.FIELD_ENCRYPTION_KEYS`` (read per call so rotation in tests
    and settings overrides take effect; building it costs microseconds)."""
    from django.conf import settings

    keys: Sequence[bytes] = getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or ()
    return Keyring(tuple(keys))


def encrypt_str(plaintext: str, purpose: str, *, keyring: Keyring | None = None) -> str:
    return (keyring or settings_keyring()).encrypt(plaintext, purpose)


def decrypt_str(token: str, purpose: str, *, keyring: Keyring | None = None) -> str:
    return (keyring or settings_keyring()).decrypt(token, purpose)


def needs_reencryption(token: str, *, keyring: Keyring | None = None) -> bool:
    return (keyring or settings_keyring()).needs_reencryption(token)
