"""Error codes of integrations: one class per code."""

from peerly.api.exceptions import Conflict


class AlreadyRevoked(Conflict):
    code = "already_revoked"
    message = "This API key is already revoked"


class SyncConflict(Conflict):
    code = "sync_conflict"
    message = "Users changed while the batch was applied; nothing was written, send the batch again"
