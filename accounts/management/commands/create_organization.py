import argparse
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import RenewalFrequency
from accounts.services import organization_admin_ensure, organization_setup
from peerly.api.exceptions import PeerlyError


class Command(BaseCommand):
    help = "Create an organisation with its email domains (idempotent: re-running updates the same organisation)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--domain", action="append", required=True, help="Email domain; repeat for several.")
        parser.add_argument("--hi5-limit", type=int, help="Hi5s per member per period (default 5).")
        parser.add_argument("--renewal", choices=RenewalFrequency.values, help="Quota renewal (default monthly).")
        parser.add_argument("--timezone", help="IANA timezone used for renewals (default UTC).")
        parser.add_argument("--contact-email")
        parser.add_argument("--admin-email", help="Make this member an organisation admin (created if missing).")
        parser.add_argument(
            "--staff-password-sign-in",
            action=argparse.BooleanOptionalAction,
            help="Let the organisation's admins and moderators also sign in to the admin with a password "
            "(default for a new organisation: Google sign-in only).",
        )

    def handle(self, *args, **options):
        if options["timezone"] and options["timezone"] not in zoneinfo.available_timezones():
            raise CommandError(f"Unknown timezone {options['timezone']!r}")
        if options["hi5_limit"] is not None and not 0 <= options["hi5_limit"] <= 1000:
            raise CommandError("--hi5-limit must be between 0 and 1000")
        try:
            organization, created = organization_setup(
                name=options["name"].strip(),
                domains=options["domain"],
                hi5_limit=options["hi5_limit"],
                renewal=options["renewal"],
                timezone_name=options["timezone"],
                contact_email=options["contact_email"],
                staff_password_sign_in=options["staff_password_sign_in"],
            )
            admin = None
            if options["admin_email"]:
                admin = organization_admin_ensure(organization=organization, email=options["admin_email"])
        except PeerlyError as error:
            detail = "; ".join(f"{k}: {v}" for k, v in (error.fields or {}).items())
            raise CommandError(f"{error.message}{' (' + detail + ')' if detail else ''}") from None
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        verb = "Created" if created else "Updated"
        domains = ", ".join(organization.domains.values_list("domain", flat=True))
        self.stdout.write(
            self.style.SUCCESS(f"{verb} organisation {organization.name} (id {organization.pk}): {domains}")
        )
        if admin:
            self.stdout.write(f"Organisation admin: {admin.email} (id {admin.pk})")
