from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.tokens import token_encode


class Command(BaseCommand):
    help = "Print a valid Peerly JWT for an existing active user (for operators and local testing)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, **options):
        user = User.objects.select_related("organization").filter(email__iexact=options["email"].strip()).first()
        if user is None:
            raise CommandError(f"No user with email {options['email']}")
        if not user.is_active:
            raise CommandError(f"{user.email} is deleted")
        self.stdout.write(token_encode(user).token)
