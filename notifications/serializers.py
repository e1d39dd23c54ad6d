from rest_framework import serializers

from peerly.api.serializers import StrictJSONTypes


class NotificationPreferencesSerializer(StrictJSONTypes, serializers.Serializer):
    """The member's email switches; a PUT may send any of them (the others keep their value)."""

    email_recognition_received = serializers.BooleanField(required=False, help_text="You were recognised.")
    email_hi5_received = serializers.BooleanField(
        required=False, help_text="Someone Hi5'd a recognition of yours (one email per 10 minutes at most)."
    )
    email_recognition_hidden = serializers.BooleanField(required=False, help_text="A moderator hid your recognition.")
    email_weekly_digest = serializers.BooleanField(required=False, help_text="Your week in Peerly.")
