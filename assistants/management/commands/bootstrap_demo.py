"""Idempotent demo set-up for `make run`: an organization, an admin, an assistant and a key.

The demo admin password and API key are kept in a local, git-ignored file (mode 0600) so that
re-running prints the same working credentials; the database only ever holds the key's hash.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from assistants.api.auth import verify_api_key
from assistants.models import Assistant, Membership, Organization
from assistants.services import api_key_create, assistant_create, membership_add

DEMO_SLUG = "demo"
DEMO_PROMPT = (
    "You are a friendly voice assistant. Keep answers short and speakable: one to three "
    "sentences, no lists or markdown."
)


class Command(BaseCommand):
    help = "Create (idempotently) the demo organization, admin user, assistant and API key."

    def add_arguments(self, parser):
        parser.add_argument(
            "--credentials-file", default=str(Path(settings.BASE_DIR) / ".demo-credentials.json")
        )
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    @transaction.atomic
    def handle(self, *args, credentials_file: str, base_url: str, **options):
        path = Path(credentials_file)
        saved = json.loads(path.read_text()) if path.exists() else {}
        organization, _ = Organization.objects.unscoped().get_or_create(
            slug=DEMO_SLUG, defaults={"name": "Demo Organization"}
        )
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or saved.get("admin_password")
        user, password = self._admin(password)
        membership_add(organization=organization, user=user, role=Membership.Role.OWNER)
        assistant = self._assistant(organization)
        raw_key = saved.get("api_key")
        if not raw_key or verify_api_key(raw_key) is None:
            _, raw_key = api_key_create(organization=organization, name="demo", created_by=user)
        self._save(path, {"admin_password": password, "api_key": raw_key})
        self._report(base_url.rstrip("/"), user.username, password, raw_key, assistant)

    def _admin(self, password: str | None):
        user_model = get_user_model()
        user = user_model.objects.filter(username="admin").first()
        if user is None:
            password = password or secrets.token_urlsafe(12)
            user = user_model.objects.create_superuser("admin", "admin@example.com", password)
        elif password and not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        return user, password or "(unchanged; set DEMO_ADMIN_PASSWORD to reset it)"

    def _assistant(self, organization: Organization) -> Assistant:
        existing = Assistant.objects.for_org(organization).live().filter(name="Demo Assistant")
        return existing.first() or assistant_create(
            organization=organization,
            name="Demo Assistant",
            first_message="Hi! I'm the demo assistant. What can I do for you?",
            system_prompt=DEMO_PROMPT,
            tools=[{"name": "current_time"}, {"name": "end_session"}],
            # The fast path for spoken turns: the caller's words are transcribed as they speak.
            # The simulators of `make run` serve the realtime WebSocket at the same base URL.
            transcriber_provider=Assistant.TranscriberProvider.ELEVENLABS,
            transcriber_mode=Assistant.TranscriberMode.STREAMING,
            transcriber_model="scribe_v2_realtime",
        )

    def _save(self, path: Path, data: dict) -> None:
        path.write_text(json.dumps(data))
        path.chmod(0o600)

    def _report(
        self, base: str, username: str, password: str, raw_key: str, assistant: Assistant
    ) -> None:
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Demo ready.",
                    f"  dashboard:    {base}/  sign in as '{username}' (or admin@example.com)"
                    f"  password '{password}'",
                    f"  test chat:    {base}/assistants/{assistant.id}/chat/",
                    f"  admin:        {base}/admin/  (the same login; for platform operators)",
                    f"  API key:      {raw_key}",
                    f"  assistant id: {assistant.id}",
                    f"  try:         curl -H 'Authorization: Bearer {raw_key}' "
                    f"{base}/api/v1/assistants/",
                    "  then:        docs/API.md (REST) and docs/PROTOCOL.md (live voice)",
                    "",
                ]
            )
        )
