from django.conf import settings
from django.core.management.base import BaseCommand

from assistants.accounts import owner_invitation_send, set_password_link
from assistants.services import api_key_create, organization_create, user_get_or_create

DEVELOPMENT_BASE_URL = "http://127.0.0.1:8000"


class Command(BaseCommand):
    help = (
        "Create an organization and print its slug and a new private API key. With --owner-email,"
        " the owner (created if needed) gets a one-time link to set a password, printed and"
        " mailed through EMAIL_BACKEND."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner-email", help="make this user (created if needed) the owner")
        parser.add_argument(
            "--base-url",
            help="how people reach this server, for the owner's link (default: PUBLIC_BASE_URL)",
        )

    def handle(self, *args, name: str, owner_email: str | None, base_url: str | None, **options):
        owner = user_get_or_create(email=owner_email) if owner_email else None
        organization = organization_create(name=name, owner=owner)
        _, raw_key = api_key_create(organization=organization, name="default", created_by=owner)
        self.stdout.write(f"organization: {organization.slug}")
        if owner is not None and not owner.has_usable_password():
            link = set_password_link(user=owner, base_url=self._base_url(base_url))
            owner_invitation_send(user=owner, organization=organization, link=link)
            self.stdout.write(f"owner {owner.email} sets a password (once) at: {link}")
            self.stdout.write("  (also mailed through EMAIL_BACKEND)")
        self.stdout.write(f"private API key (shown once): {raw_key}")

    def _base_url(self, given: str | None) -> str:
        base_url = given or settings.PUBLIC_BASE_URL
        if not base_url:
            self.stderr.write(
                f"PUBLIC_BASE_URL is not set (nor --base-url): the link assumes"
                f" {DEVELOPMENT_BASE_URL}"
            )
        return base_url or DEVELOPMENT_BASE_URL
