"""Error codes of the recognitions domain shared by several apps (Hi5s, reports, reviews): each is defined once.

The class carries the stable code; a raising service may give a message that says what was refused.
"""

from peerly.api.exceptions import RuleViolation


class OwnRecognition(RuleViolation):
    code = "own_recognition"
    message = "You cannot do this on a recognition you gave or received"


class RecognitionHidden(RuleViolation):
    code = "recognition_hidden"
    message = "This recognition has been hidden by a moderator"
