"""Error codes of core values: one class per code."""

from peerly.api.exceptions import Conflict


class CoreValueExists(Conflict):
    code = "core_value_exists"
    message = "A core value with this text already exists in the organisation"
