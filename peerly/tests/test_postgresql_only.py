"""PostgreSQL is the only database: anything else fails at startup, saying how to get one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base["DJANGO_SETTINGS_MODULE"] = "peerly.settings"
    return subprocess.run(args, env={**base, **env}, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "DATABASE_URL is not set"),
        ({"DATABASE_URL": "sqlite:///db.sqlite3"}, "DATABASE_URL names sqlite3, not PostgreSQL"),
        ({"DATABASE_URL": "mysql://u:p@127.0.0.1/peerly"}, "DATABASE_URL names mysql, not PostgreSQL"),
    ],
)
def test_startup_refuses_anything_but_postgresql(env, says):
    result = run([sys.executable, "manage.py", "check"], **env)
    assert result.returncode != 0
    assert says in result.stderr
    assert "./scripts/run" in result.stderr
    assert "./scripts/test" in result.stderr


def test_bare_pytest_without_postgresql_fails_at_once_with_the_howto():
    result = run([sys.executable, "-m", "pytest", "-q", "peerly/tests/test_plumbing.py"])
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "DATABASE_URL is not set" in output
    assert "./scripts/test" in output
    assert " passed" not in output
