from django.core.management.base import BaseCommand

from assistants.services import api_key_create, organization_create, user_get_or_create


class Command(BaseCommand):
    help = "Create an organization and print its slug and a new private API key."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner-email", help="make this user (created if needed) the owner")

    def handle(self, *args, name: str, owner_email: str | None, **options):
        owner = user_get_or_create(email=owner_email) if owner_email else None
        organization = organization_create(name=name, owner=owner)
        _, raw_key = api_key_create(organization=organization, name="default", created_by=owner)
        self.stdout.write(f"organization: {organization.slug}")
        self.stdout.write(f"private API key (shown once): {raw_key}")
