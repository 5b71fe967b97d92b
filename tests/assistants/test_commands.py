import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from assistants.api.auth import verify_api_key
from assistants.models import ApiKey, Assistant, Membership, Organization

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_organization_prints_slug_and_working_private_key():
    output = run("create_organization", "Acme Corp", "--owner-email", "boss@acme.test")
    slug = output.split("organization: ")[1].split()[0]
    raw_key = output.split("(shown once): ")[1].strip()
    organization = Organization.objects.unscoped().get(slug=slug)
    api_key = verify_api_key(raw_key)
    assert api_key.organization == organization and api_key.kind == ApiKey.Kind.PRIVATE
    owner = Membership.objects.for_org(organization).get()
    assert (owner.user.email, owner.role) == ("boss@acme.test", "owner")
    assert owner.user.is_staff


def test_create_api_key_public_and_unknown_org():
    run("create_organization", "Acme")
    raw_key = run("create_api_key", "acme", "--public", "--origin", "https://a.test").strip()
    api_key = verify_api_key(raw_key)
    assert api_key.kind == "public" and api_key.allowed_origins == ["https://a.test"]
    with pytest.raises(CommandError, match="No organization"):
        call_command("create_api_key", "nope")


def test_bootstrap_demo_is_idempotent_and_prints_working_credentials(tmp_path):
    creds = tmp_path / "creds.json"
    first = run("bootstrap_demo", "--credentials-file", str(creds))
    second = run("bootstrap_demo", "--credentials-file", str(creds))
    saved = json.loads(creds.read_text())
    assert saved["api_key"] in first and saved["api_key"] in second
    assert verify_api_key(saved["api_key"]).organization.slug == "demo"
    demo = Organization.objects.unscoped().get(slug="demo")
    assert Assistant.objects.for_org(demo).count() == 1
    assert ApiKey.objects.for_org(demo).count() == 1
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password(saved["admin_password"])
    assert oct(creds.stat().st_mode)[-3:] == "600"


def test_the_demo_assistant_transcribes_with_elevenlabs_streaming(tmp_path):
    run("bootstrap_demo", "--credentials-file", str(tmp_path / "creds.json"))

    demo = Organization.objects.unscoped().get(slug="demo")
    assistant = Assistant.objects.for_org(demo).get()
    assert assistant.transcriber_provider == "elevenlabs"
    assert assistant.transcriber_mode == "streaming"
    assert assistant.transcriber_model == "scribe_v2_realtime"
    assert assistant.preemptive_replies is True


def test_bootstrap_demo_replaces_a_revoked_demo_key(tmp_path):
    creds = tmp_path / "creds.json"
    run("bootstrap_demo", "--credentials-file", str(creds))
    ApiKey.objects.unscoped().update(revoked_at="2026-01-01T00:00:00Z")
    run("bootstrap_demo", "--credentials-file", str(creds))
    assert verify_api_key(json.loads(creds.read_text())["api_key"]) is not None
