"""Settings whose defaults follow DJANGO_DEBUG: read from a fresh interpreter, as a server starts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOW = "from django.conf import settings; print(settings.PEERLY_STAFF_TOTP_REQUIRED)"


def setting(**env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in {"PEERLY_STAFF_TOTP_REQUIRED", "DJANGO_DEBUG"}}
    code = f"import django; django.setup(); {SHOW}"
    result = subprocess.run(
        [sys.executable, "-c", code], env={**base, **env}, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "required"),
    [
        ({"DJANGO_DEBUG": "false"}, "True"),  # production: every staff password sign-in passes a code
        ({"DJANGO_DEBUG": "true"}, "False"),  # the demo on a laptop
        ({"DJANGO_DEBUG": "false", "PEERLY_STAFF_TOTP_REQUIRED": "false"}, "False"),
        ({"DJANGO_DEBUG": "true", "PEERLY_STAFF_TOTP_REQUIRED": "true"}, "True"),
    ],
)
def test_the_second_factor_is_required_by_default_in_production(env, required):
    assert setting(**env) == required
