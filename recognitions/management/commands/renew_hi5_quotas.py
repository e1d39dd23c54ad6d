from django.core.management.base import BaseCommand, CommandError

from recognitions.services import hi5_quotas_renew


class Command(BaseCommand):
    help = (
        "Reset every active member's Hi5 balance to the organisation's hi5_limit at the start of each week "
        "(Monday) or month (the 1st), in the organisation's timezone. Idempotent: run it every few minutes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what would be renewed; write nothing.")

    def handle(self, *args, dry_run: bool = False, **options):
        outcomes = hi5_quotas_renew(dry_run=dry_run)
        renewed = 0
        for outcome in outcomes:
            org = outcome.organization
            label = f"{org.name} ({org.hi5_quota_renewal_frequency}, {org.timezone})"
            if outcome.renewed:
                renewed += 1
                verb = "would renew" if dry_run else "renewed"
                self.stdout.write(
                    f"{label}: {verb} {outcome.users_renewed} user{'' if outcome.users_renewed == 1 else 's'} "
                    f"to {org.hi5_limit} Hi5s "
                    f"for the period from {outcome.period_start}"
                )
            elif outcome.period_start is None:
                self.stderr.write(f"{label}: skipped, {outcome.reason}")
            else:
                self.stdout.write(f"{label}: {outcome.reason} for the period from {outcome.period_start}")
        summary = f"{renewed} of {len(outcomes)} organisations {'would be ' if dry_run else ''}renewed"
        self.stdout.write(self.style.SUCCESS(summary) if renewed or not outcomes else summary)
        failed = [outcome.organization.name for outcome in outcomes if outcome.period_start is None]
        if failed:
            # A non-zero exit makes cron mail it and systemd mark the unit failed.
            raise CommandError(f"Could not renew: {', '.join(failed)} (fix their timezone or frequency)")
