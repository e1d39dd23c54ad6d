from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Forget a staff member's authenticator app and recovery codes (a lost or replaced phone) and end "
        "their back-office sessions. Their next password sign-in to the admin sets up a new one. "
        "Recorded in the audit trail."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, **options):
        user = User.objects.filter(email__iexact=options["email"].strip()).first()
        if user is None:
            raise CommandError(f"No user with email {options['email']}")
        if not services.staff_totp_reset(user=user):
            self.stdout.write(f"{user.email} had no two-factor sign-in set up; nothing to reset")
            return
        self.stdout.write(
            self.style.SUCCESS(f"Two-factor sign-in reset for {user.email}; they set it up again at their next sign-in")
        )
