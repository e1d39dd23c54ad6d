from getpass import getpass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User


class Command(BaseCommand):
    help = (
        "Set the Django admin password of an organisation admin, moderator or super admin. "
        "Reads the password from --password, the PEERLY_STAFF_PASSWORD variable, or a prompt."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--password")

    def handle(self, *args, **options):
        import os

        user = User.objects.filter(email__iexact=options["email"].strip()).first()
        if user is None or not user.is_active:
            raise CommandError(f"No active user with email {options['email']}")
        if not user.can_moderate:
            raise CommandError(f"{user.email} is an employee; make them an admin or moderator first")
        password = options["password"] or os.environ.get("PEERLY_STAFF_PASSWORD") or getpass("Password: ")
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        user.set_password(password)
        user.save(update_fields=["password"])
        if not user.may_sign_in_with_password:
            self.stdout.write(
                self.style.WARNING(
                    f"Password set for {user.email}, but {user.organization} signs in to the admin with Google "
                    "only: turn on its 'staff may sign in with a password' setting (or run create_organization "
                    "with --staff-password-sign-in) for the password to work"
                )
            )
            return
        self.stdout.write(self.style.SUCCESS(f"Password set for {user.email}; they can sign in at /admin/"))
