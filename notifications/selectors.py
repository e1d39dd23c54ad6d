"""Reads of the notifications."""

from accounts.models import User
from notifications.models import NotificationPreferences


def preferences_of(user: User) -> NotificationPreferences:
    """The member's switches: their row, else the defaults (every email on), unsaved."""
    return NotificationPreferences.objects.filter(user=user).first() or NotificationPreferences(user=user)
