"""Re-encrypt every EncryptedTextField value that is not under the newest key.

Run it after putting a new key first in FIELD_ENCRYPTION_KEY; once it reports nothing left,
the old key can be dropped from the list.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import models
from django.db.models.functions import Cast

from integrations.crypto import Keyring, settings_keyring
from integrations.fields import EncryptedTextField

RAW = "_reencrypt_raw_token"


def encrypted_fields() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


def reencrypt_field(
    model: type[models.Model], field: EncryptedTextField, *, keyring: Keyring, dry_run: bool
) -> tuple[int, int]:
    """Returns (rows with a value, rows re-encrypted or that would be)."""
    # Casting to a plain TextField reads the stored token instead of the decrypted value.
    raw_rows = (
        model._base_manager.annotate(**{RAW: Cast(field.attname, models.TextField())})
        .exclude(**{f"{field.attname}__isnull": True})
        .values_list("pk", RAW)
    )
    seen = changed = 0
    for pk, token in raw_rows.iterator(chunk_size=500):
        if not token:
            continue
        seen += 1
        if not keyring.needs_reencryption(token):
            continue
        if dry_run:
            changed += 1
        else:
            changed += _swap(model, field, pk, token, keyring.decrypt(token, field.purpose))
    return seen, changed


def _swap(
    model: type[models.Model], field: EncryptedTextField, pk: Any, token: str, plain: str
) -> int:
    # Compare-and-swap on the old token: a row changed meanwhile is left as it is.
    return (
        model._base_manager.annotate(**{RAW: Cast(field.attname, models.TextField())})
        .filter(pk=pk, **{RAW: token})
        .update(**{field.attname: plain})
    )


class Command(BaseCommand):
    help = "Re-encrypt encrypted fields whose values are not under the newest FIELD_ENCRYPTION_KEY."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        keyring = settings_keyring()
        total = 0
        for model, field in encrypted_fields():
            seen, changed = reencrypt_field(
                model, field, keyring=keyring, dry_run=options["dry_run"]
            )
            total += changed
            label = f"{model._meta.label}.{field.name}"
            self.stdout.write(f"{label}: {changed} of {seen} re-encrypted")
        verb = "would be re-encrypted" if options["dry_run"] else "re-encrypted"
        self.stdout.write(
            self.style.SUCCESS(f"{total} value(s) {verb} under key {keyring.newest_id}")
        )
