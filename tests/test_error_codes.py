"""Each error code is defined once: one class per code, imported wherever it is raised."""

import importlib

from django.apps import apps

from accounts.admin_mixins import ADMINS, MODERATORS
from accounts.models import ADMIN_ROLES, MODERATION_ROLES
from peerly.api.exceptions import InvalidData, PeerlyError


def all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *all_subclasses(sub)}
    return found


def test_every_error_code_has_one_class():
    # given every module that raises errors
    for config in apps.get_app_configs():
        for module in ("services", "selectors", "errors"):
            try:
                importlib.import_module(f"{config.name}.{module}")
            except ModuleNotFoundError as error:
                if error.name != f"{config.name}.{module}":
                    raise
    # then no two classes share a code (InvalidData restates its base's default code)
    by_code: dict[str, list[str]] = {}
    for cls in all_subclasses(PeerlyError) - {InvalidData}:
        by_code.setdefault(cls.code, []).append(f"{cls.__module__}.{cls.__qualname__}")
    assert {code: names for code, names in by_code.items() if len(names) > 1} == {}


def test_the_back_office_uses_the_models_role_sets():
    assert ADMINS is ADMIN_ROLES
    assert MODERATORS is MODERATION_ROLES
