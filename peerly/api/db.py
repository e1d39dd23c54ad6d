"""What PostgreSQL says about a failed write, read the same way by every service."""

from django.db import IntegrityError


def violates(exc: IntegrityError, constraint: str) -> bool:
    """Whether the IntegrityError is a violation of the named constraint (psycopg's diagnostics)."""
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) == constraint
