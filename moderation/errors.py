"""Error codes of moderation: one class per code (the shared recognition ones live in recognitions.errors)."""

from peerly.api.exceptions import Conflict


class AlreadyReported(Conflict):
    code = "already_reported"
    message = "You have already reported this recognition"
