"""Server-side binding and prepared statements: on by default, each can be turned off (poolers)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from recognitions.tests.factories import RecognitionFactory

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = {"DATABASE_SERVER_SIDE_BINDING", "DATABASE_PREPARED_STATEMENTS", "DATABASE_PREPARE_THRESHOLD"}


def database_options(**env: str) -> subprocess.CompletedProcess:
    """The database OPTIONS a server started with this environment would use (a fresh interpreter)."""
    base = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    code = "import django; django.setup(); from django.db import connection; print(connection.settings_dict['OPTIONS'])"
    return subprocess.run(
        [sys.executable, "-c", code], env={**base, **env}, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "options"),
    [
        ({}, "{'server_side_binding': True, 'prepare_threshold': 2}"),
        ({"DATABASE_PREPARE_THRESHOLD": "5"}, "{'server_side_binding': True, 'prepare_threshold': 5}"),
        # behind a pooler that does not track prepared statements
        ({"DATABASE_PREPARED_STATEMENTS": "false"}, "{'server_side_binding': True, 'prepare_threshold': None}"),
        (
            {"DATABASE_PREPARED_STATEMENTS": "false", "DATABASE_SERVER_SIDE_BINDING": "false"},
            "{'server_side_binding': False, 'prepare_threshold': None}",
        ),
    ],
)
def test_the_options_follow_the_environment(env, options):
    result = database_options(**env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == options


def test_prepared_statements_need_server_side_binding():
    result = database_options(DATABASE_SERVER_SIDE_BINDING="false")
    assert result.returncode != 0
    assert "DATABASE_PREPARED_STATEMENTS needs DATABASE_SERVER_SIDE_BINDING" in result.stderr


@pytest.mark.django_db
def test_the_hot_statements_are_prepared_on_the_connection(as_user, employee):
    # given: a member reading the feed a few times on this connection (a feed with a recognition: an empty
    # one answers from its total alone)
    RecognitionFactory(organization=employee.organization)
    client = as_user(employee)
    for _ in range(3):
        assert client.get("/recognitions").status_code == 200
    # then: PostgreSQL holds the token check and the feed's page prepared (no parse or plan per request)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('"accounts_revokedtoken"' in statement for statement in prepared), prepared
    assert any("recognitions_hi5" in statement and "LIMIT 10" in statement for statement in prepared), prepared
