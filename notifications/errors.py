class InvalidUnsubscribeLink(Exception):
    """An unsubscribe link that was tampered with, or whose member is gone."""
