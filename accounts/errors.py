"""Error codes of accounts: one class per code, raised by its services and selectors."""

from peerly.api.exceptions import Conflict, RuleViolation


class CannotChangeOwnRole(RuleViolation):
    code = "cannot_change_own_role"
    message = "You cannot change your own role"


class CannotDeleteSelf(RuleViolation):
    code = "cannot_delete_self"
    message = "You cannot delete your own account"


class OrganizationRequired(RuleViolation):
    code = "organization_required"
    message = "Only a super admin may belong to no organisation: give the user an organisation first"


class AlreadyDeleted(Conflict):
    code = "already_deleted"
    message = "This user is already deleted"


class NotDeleted(Conflict):
    code = "not_deleted"
    message = "This user is not deleted"


class DomainTaken(Conflict):
    code = "domain_taken"
    message = "This email domain belongs to another organisation"


class BackOfficeSignInRefused(Exception):
    """A Google account that may not enter the back office; the message is shown on the refusal page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
