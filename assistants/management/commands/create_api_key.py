from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from assistants.models import ApiKey, Organization
from assistants.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for an organization and print it (it is shown once)."

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument("--public", action="store_true", help="a public (browser) key")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--origin", action="append", default=[], help="allowed origin")

    def handle(self, *args, org_slug: str, public: bool, name: str, origin: list, **options):
        organization = Organization.objects.unscoped().filter(slug=org_slug).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org_slug!r}.")
        kind = ApiKey.Kind.PUBLIC if public else ApiKey.Kind.PRIVATE
        try:
            _, raw_key = api_key_create(
                organization=organization, name=name, kind=kind, allowed_origins=origin
            )
        except ValidationError as exc:  # e.g. the organization's cap on active keys
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(raw_key)
