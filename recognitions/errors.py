"""Error codes of the recognitions domain shared by several apps (Hi5s, reports, reviews): each is defined once.

The class carries the stable code; a raising service may give a message that says what was refused.
"""

from peerly.api.exceptions import Conflict, PeerlyError, RuleViolation


class OwnRecognition(RuleViolation):
    code = "own_recognition"
    message = "You cannot do this on a recognition you gave or received"


class RecognitionHidden(RuleViolation):
    code = "recognition_hidden"
    message = "This recognition has been hidden by a moderator"


class InsufficientHi5Balance(PeerlyError):
    status_code = 400
    code = "insufficient_hi5_balance"
    message = "Hi5 quota balance is insufficient for this action"


class SelfRecognition(RuleViolation):
    code = "self_recognition"
    message = "You cannot recognise yourself"


class ReceiverInactive(RuleViolation):
    code = "receiver_inactive"
    message = "This colleague's account is deleted"


class AlreadyHi5(Conflict):
    code = "already_hi5"
    message = "You already gave a Hi5 to this recognition"
