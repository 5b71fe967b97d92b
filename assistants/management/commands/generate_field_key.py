from django.core.management.base import BaseCommand

from integrations.crypto import generate_key


class Command(BaseCommand):
    help = "Print a new FIELD_ENCRYPTION_KEY (put it first in the list to rotate)."

    requires_system_checks = []

    def handle(self, *args, **options):
        self.stdout.write(generate_key())
