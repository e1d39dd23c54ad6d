"""./scripts/run as a newcomer runs it: its own PostgreSQL server, demo data, an authenticated call.

The data folder outlives the run (the next run reuses it) and Ctrl-C stops the server it started.
"""

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.live import ROOT, Run, free_port, newcomer_environment, run_data_folder, stop_run_database, wait_until

V1 = "application/vnd.peerly.v1"


@pytest.fixture
def data_folder():
    folder = Path(tempfile.mkdtemp(prefix="peerly-run-data-"))
    yield run_data_folder(folder)
    stop_run_database(folder / "pgdata")  # never leave a server behind, even on failure
    shutil.rmtree(folder, ignore_errors=True)


def signed_in_call(env: dict[str, str], url: str) -> requests.Response:
    token = subprocess.run(
        [str(ROOT / "scripts" / "manage"), "issue_token", "alice@acme.example"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()
    return requests.get(f"{url}/users/me", headers={"Accept": V1, "Authorization": f"Bearer {token}"}, timeout=10)


def test_run_serves_the_demo_on_its_own_postgresql_and_keeps_the_data(data_folder):
    port = free_port()
    env = newcomer_environment(data_folder, port)
    google_port = free_port()
    env["PEERLY_FAKE_GOOGLE_PORT"] = str(google_port)
    url = f"http://127.0.0.1:{port}"

    # when a newcomer runs ./scripts/run and, in another shell, asks for a token
    run = Run(env)
    started = time.monotonic()
    try:
        wait_until(
            lambda: run.process.poll() is None and requests.get(f"{url}/health", timeout=2).ok,
            timeout=180,
            what=f"./scripts/run:\n{run.output()}",
        )
        response = signed_in_call(env, url)
        first_call = time.monotonic() - started
        # and the back office's "Sign in with Google" leads to the demo's fake Google
        google = requests.get(f"{url}/admin/google/login/", allow_redirects=False, timeout=10)
        consent = requests.get(google.headers["Location"], timeout=10)
        # and the worker beside it delivers the demo's notifications (printed: no EMAIL_HOST in the demo)
        wait_until(lambda: "recognised you for" in run.output(), timeout=60, what="the demo's emails")
        output = run.output()
    finally:
        rc = run.ctrl_c()

    # then the first authenticated call answers, on PostgreSQL with the demo data
    assert response.status_code == 200, response.text
    assert response.json()["data"]["email"] == "alice@acme.example"
    assert "==> PostgreSQL" in output
    assert "Demo data loaded" in output
    assert google.headers["Location"].startswith(f"http://127.0.0.1:{google_port}/o/oauth2/v2/auth?")
    assert "Choose an account" in consent.text
    print(f"./scripts/run (venv present): first authenticated call after {first_call:.1f} s")
    # and Ctrl-C stopped the server it started, leaving the data in the folder
    assert rc in (0, 130, -signal.SIGINT), output
    port_of_database = int((data_folder / "port").read_text())
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port_of_database), timeout=2)
    assert (data_folder / "data" / "PG_VERSION").exists()
    with pytest.raises(ConnectionRefusedError):  # and the fake Google with it
        socket.create_connection(("127.0.0.1", google_port), timeout=2)

    # when it runs again, the same database is reused
    run = Run(env)
    try:
        wait_until(
            lambda: run.process.poll() is None and requests.get(f"{url}/health", timeout=2).ok,
            timeout=180,
            what=f"./scripts/run again:\n{run.output()}",
        )
        assert signed_in_call(env, url).status_code == 200
        output = run.output()
    finally:
        run.ctrl_c()
    assert "Demo data already present" in output


def test_manage_says_to_start_run_first_when_there_is_no_database(data_folder):
    env = newcomer_environment(data_folder, free_port())
    result = subprocess.run(
        [str(ROOT / "scripts" / "manage"), "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "start ./scripts/run first" in result.stderr
