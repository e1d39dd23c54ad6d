import csv
import sys

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from integrations.serializers import EmployeeRowSerializer
from integrations.sync import users_sync
from peerly.api.exceptions import InvalidData, flatten_validation_errors

COLUMNS = ["email", "first_name", "last_name", "display_name", "role_id", "active"]


class Command(BaseCommand):
    help = (
        "Sync an organisation's members from a CSV (columns: email, first_name, last_name, display_name, "
        "role_id, active), all or nothing, like POST /users/sync but without its 1,000-row limit."
    )

    def add_arguments(self, parser):
        parser.add_argument("org", help="Organisation name or id.")
        parser.add_argument("file", help="CSV file with a header row; `-` reads stdin.")
        parser.add_argument(
            "--deactivate-missing", action="store_true", help="Also soft-delete active members not in the file."
        )
        parser.add_argument("--dry-run", action="store_true", help="Show what would change; write nothing.")

    def handle(self, *args, org: str, file: str, deactivate_missing: bool, dry_run: bool, **options):
        organization = self._organization(org)
        rows = self._read_rows(file)
        total = len(rows)

        def progress(done: int) -> None:
            width = 30
            filled = width * done // total if total else width
            self.stderr.write(f"\rSyncing [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
            if done >= total:
                self.stderr.write("")

        try:
            result = users_sync(
                organization=organization,
                rows=rows,
                deactivate_missing=deactivate_missing,
                dry_run=dry_run,
                progress=progress,
            )
        except InvalidData as error:
            raise CommandError(self._describe(error.message, error.fields or {})) from None
        prefix = "Dry run (nothing written): " if dry_run else ""
        self.stdout.write(
            f"{prefix}{organization.name}: {total} rows; created {result.created}, updated {result.updated}, "
            f"deactivated {result.deactivated}, reactivated {result.reactivated}, unchanged {result.unchanged}."
        )

    @staticmethod
    def _organization(value: str) -> Organization:
        organization = (
            Organization.objects.filter(pk=int(value)).first()
            if value.isdigit()
            else Organization.objects.filter(name__iexact=value).first()
        )
        if organization is None:
            raise CommandError(f"No organisation named or numbered {value!r}")
        return organization

    def _read_rows(self, path: str) -> list:
        try:
            handle = sys.stdin if path == "-" else open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from None
        with handle:
            reader = csv.DictReader(handle)
            missing = {"email", "first_name"} - set(reader.fieldnames or [])
            if missing:
                raise CommandError(f"The CSV header must name the columns {', '.join(COLUMNS)}; missing: {missing}")
            # Empty cells mean "not given": defaults apply (active, employee role, "first last" display name).
            raw = [
                {key: value.strip() for key, value in row.items() if key in COLUMNS and value and value.strip()}
                for row in reader
            ]
        serializer = EmployeeRowSerializer(data=raw, many=True)
        if not serializer.is_valid():
            errors = flatten_validation_errors({"users": serializer.errors})
            raise CommandError(self._describe("Invalid rows; nothing was written", errors))
        return serializer.validated_data

    @staticmethod
    def _describe(message: str, fields: dict[str, str]) -> str:
        lines = [message + ":"]
        for name, reason in fields.items():
            parts = name.split(".")
            if len(parts) >= 2 and parts[1].isdigit():
                column = ".".join(parts[2:]) or "row"
                # Row 0 is on line 2 of the file (after the header).
                lines.append(f"  line {int(parts[1]) + 2}, {column}: {reason}")
            else:
                lines.append(f"  {name}: {reason}")
        return "\n".join(lines)
