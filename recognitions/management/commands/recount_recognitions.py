from django.core.management.base import BaseCommand

from recognitions.services import recognition_counters_rebuild


class Command(BaseCommand):
    help = (
        "Recount the feed's per-(organisation, core value) counters of visible recognitions from the table "
        "(PostgreSQL keeps them exact by itself; use after a restore or a bulk load made with triggers disabled)."
    )

    def handle(self, *args, **options):
        written = recognition_counters_rebuild()
        self.stdout.write(f"{written} counters recounted")
