from django.core.management.base import BaseCommand

from sessions.expiry import sessions_expire


class Command(BaseCommand):
    help = (
        "End the sessions left alone too long (SESSION_UNUSED_TTL_SECONDS, "
        "SESSION_IDLE_TTL_SECONDS), of every organization. Every server process does this "
        "every SESSION_EXPIRY_INTERVAL_SECONDS; run it from a scheduler when that is 0. "
        "Safe to run while servers or other runs do the same."
    )

    def handle(self, *args, **options):
        ended = sessions_expire()
        self.stdout.write(f"Ended {ended} expired session{'' if ended == 1 else 's'}.")
