from django.core.management.base import BaseCommand, CommandError

from insights.services import rollups_rebuild
from peerly.api.exceptions import NotFound


class Command(BaseCommand):
    help = (
        "Recompute the insights' rollups (recognitions and Hi5s per day, members' days, also per core value, "
        "givers per day, week and month) from the recognitions and Hi5s. PostgreSQL keeps them exact by "
        "itself: use after a restore or a bulk load made with triggers disabled. Writers wait while it runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org-id", type=int, help="Only this organisation (default: every organisation).")

    def handle(self, *args, org_id: int | None = None, **options):
        try:
            rebuilt = rollups_rebuild(organization_id=org_id)
        except NotFound as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Rebuilt the insights of {rebuilt} organisation{'' if rebuilt == 1 else 's'}")
