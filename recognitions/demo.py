"""Demo core values and recognitions for `manage.py seed_demo`."""

from accounts.models import Organization, User


def seed_recognitions_demo(*, organization: Organization, people: list[User]) -> None:
    """Filled in with core values and recognitions by the recognitions app."""
