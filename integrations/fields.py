"""A model field whose value is encrypted at rest with ``integrations.crypto``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models

from integrations.crypto import decrypt_str, encrypt_str


class RedactedStr(str):
    """The decrypted value: a real ``str`` whose repr hides it from logs, shells and debug pages."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "RedactedStr('***')"


class EncryptedTextField(models.TextField):
    """Stores ``crypto`` tokens; the Python value is the plaintext.

    The purpose bound into each token defaults to ``<app_label>.<model>.<field>``. Renaming the
    model or field would change it and make existing rows unreadable, so a rename must pin the
    old purpose with ``purpose="..."``. Equality lookups cannot work on randomized ciphertext and
    are refused (only ``isnull`` is allowed) rather than silently matching nothing.
    """

    description = "Text encrypted at rest (AES-256-GCM)"

    def __init__(self, *args: Any, purpose: str | None = None, **kwargs: Any) -> None:
        self._explicit_purpose = purpose
        self.purpose = purpose or ""
        super().__init__(*args, **kwargs)

    def contribute_to_class(
        self, cls: type[models.Model], name: str, private_only: bool = False
    ) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        if not self._explicit_purpose:
            self.purpose = f"{cls._meta.app_label}.{cls._meta.model_name}.{name}"

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        if self._explicit_purpose:
            kwargs["purpose"] = self._explicit_purpose
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:  # NULL or an empty column (e.g. filled by a migration default)
            return value
        return RedactedStr(decrypt_str(value, self.purpose))

    def to_python(self, value: Any) -> str | None:
        value = super().to_python(value)
        return None if value is None else RedactedStr(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value  # "not set" is not a secret
        return encrypt_str(str(value), self.purpose)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)
