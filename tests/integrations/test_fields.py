"""EncryptedTextField on the real models, and the reencrypt_secrets command."""

from io import StringIO

import pytest
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import models
from django.db.models.functions import Cast

from integrations.crypto import DecryptionError, key_id
from integrations.fields import EncryptedTextField
from integrations.models import NotionConnection, ProviderCredential

pytestmark = pytest.mark.django_db

OLD = bytes(range(32))
NEW = bytes(range(32, 64))
SECRET = "ntn_super_secret_token"


def raw(model, pk, field):
    return (
        model.objects.unscoped()
        .annotate(raw=Cast(field, models.TextField()))
        .values_list("raw", flat=True)
        .get(pk=pk)
    )


@pytest.fixture
def connection(org):
    return NotionConnection.objects.create(organization=org, name="Work", token=SECRET)


def test_value_is_encrypted_at_rest_and_plain_in_python(connection):
    stored = raw(NotionConnection, connection.pk, "token")
    assert stored.startswith("v1.") and SECRET not in stored
    assert NotionConnection.objects.for_org(connection.organization).get().token == SECRET


def test_repr_of_value_is_redacted(connection):
    token = NotionConnection.objects.for_org(connection.organization).get().token
    assert SECRET not in repr(token)
    assert f"{token}" == SECRET and isinstance(token, str)


def test_purpose_is_app_model_field(connection):
    field = NotionConnection._meta.get_field("token")
    assert field.purpose == "integrations.notionconnection.token"


def test_token_copied_to_another_field_does_not_decrypt(connection, org):
    credential = ProviderCredential.objects.create(organization=org, provider="openai", api_key="k")
    stolen = raw(NotionConnection, connection.pk, "token")
    credentials = ProviderCredential.objects.for_org(org)
    credentials.filter(pk=credential.pk).update(
        api_key=Cast(models.Value(stolen), models.TextField())
    )
    with pytest.raises(DecryptionError):
        credentials.get(pk=credential.pk)


def test_value_lookups_are_refused(connection):
    with pytest.raises(FieldError):
        list(NotionConnection.objects.unscoped().filter(token=SECRET))
    assert NotionConnection.objects.unscoped().filter(token__isnull=False).count() == 1


def test_deconstruct_carries_no_secret_and_keeps_pinned_purpose():
    _, path, args, kwargs = EncryptedTextField(purpose="legacy.token").deconstruct()
    assert path == "integrations.fields.EncryptedTextField"
    assert kwargs == {"purpose": "legacy.token"} and args == []
    _, _, _, kwargs = NotionConnection._meta.get_field("token").deconstruct()
    assert kwargs == {"editable": False}


def test_reencrypt_secrets_rotates_to_newest_key(settings, org):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    old_conn = NotionConnection.objects.create(organization=org, name="A", token=SECRET)
    cred = ProviderCredential.objects.create(organization=org, provider="openai", api_key="sk-1")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    new_conn = NotionConnection.objects.create(
        organization=org, name="B", token="fresh", workspace_id="w2"
    )

    out = StringIO()
    call_command("reencrypt_secrets", "--dry-run", stdout=out)
    assert "integrations.NotionConnection.token: 1 of 2 re-encrypted" in out.getvalue()
    assert raw(NotionConnection, old_conn.pk, "token").split(".")[1] == key_id(OLD)

    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "integrations.ProviderCredential.api_key: 1 of 1 re-encrypted" in out.getvalue()
    for model, pk, field in [
        (NotionConnection, old_conn.pk, "token"),
        (NotionConnection, new_conn.pk, "token"),
        (ProviderCredential, cred.pk, "api_key"),
    ]:
        assert raw(model, pk, field).split(".")[1] == key_id(NEW)

    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key can go now
    assert NotionConnection.objects.for_org(org).get(pk=old_conn.pk).token == SECRET
    assert ProviderCredential.objects.for_org(org).get(pk=cred.pk).api_key == "sk-1"
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "0 value(s) re-encrypted" in out.getvalue()
