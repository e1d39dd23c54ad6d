"""Writes of the insights: only the rebuild of the rollups (PostgreSQL keeps them up to date by itself)."""

from django.db import connection, transaction

from accounts.models import Organization
from peerly.api.exceptions import NotFound

LOCK_SQL = "LOCK TABLE recognitions_hi5, recognitions_recognition IN SHARE ROW EXCLUSIVE MODE"


def rollups_rebuild(*, organization_id: int | None = None) -> int:
    """Recompute the insights' rollups of one organisation, or of all, from the recognitions and Hi5s.

    The database keeps them exact by itself (migration insights/0001); this is for after a restore or a
    bulk load made with triggers disabled. Writers of recognitions and Hi5s wait during the rebuild (the
    Hi5s locked before the recognitions, as a timezone change does: see insights/0004); readers do not.
    Returns the number of organisations rebuilt.
    """
    with transaction.atomic():
        organizations = Organization.objects.order_by("id")
        if organization_id is not None:
            organizations = organizations.filter(pk=organization_id)
        ids = list(organizations.values_list("id", flat=True))
        if organization_id is not None and not ids:
            raise NotFound(f"No organisation {organization_id}")
        with connection.cursor() as cursor:
            cursor.execute(LOCK_SQL)
            for pk in ids:
                cursor.execute("SELECT insights_rebuild(%s)", [pk])
    return len(ids)
