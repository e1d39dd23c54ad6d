"""./scripts/run as a newcomer runs it: its own PostgreSQL server, demo data, an authenticated call.

The data folder outlives the run (the next run reuses it) and Ctrl-C stops the server it started.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.live import ROOT, free_port, wait_until

V1 = "application/vnd.peerly.v1"


def newcomer_environment(data: Path, port: int) -> dict[str, str]:
    """What a new user's shell has: no DATABASE_URL, none of the test run's DJANGO_* settings."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith(("DJANGO_", "PEERLY_"))}
    return {**env, "PEERLY_PG_DATA": str(data), "PEERLY_RUN_ADDR": f"127.0.0.1:{port}"}


class Run:
    def __init__(self, env: dict[str, str]) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="peerly-run-", suffix=".log", delete=False)  # noqa: SIM115
        # A terminal's Ctrl-C: SIGINT to the whole process group, with SIGINT's default action restored
        # (a process started in the background of a non-interactive shell inherits it ignored).
        self.process = subprocess.Popen(
            [str(ROOT / "scripts" / "run")],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def ctrl_c(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
            Path(self.log.name).unlink(missing_ok=True)


@pytest.fixture
def data_folder():
    folder = Path(tempfile.mkdtemp(prefix="peerly-run-data-"))
    folder.chmod(0o755)  # as a checkout is: the postgres user (scripts/pg.sh, as root) reaches it
    yield folder / "pgdata"
    postgres = shutil.which("pg_ctl") or next(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), None)
    if postgres and (folder / "pgdata" / "data").exists():  # never leave a server behind, even on failure
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*as_postgres, str(postgres), "-D", str(folder / "pgdata" / "data"), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
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
        output = run.output()
    finally:
        rc = run.ctrl_c()

    # then the first authenticated call answers, on PostgreSQL with the demo data
    assert response.status_code == 200, response.text
    assert response.json()["data"]["email"] == "alice@acme.example"
    assert "==> PostgreSQL" in output
    assert "Demo data loaded" in output
    print(f"./scripts/run (venv present): first authenticated call after {first_call:.1f} s")
    # and Ctrl-C stopped the server it started, leaving the data in the folder
    assert rc in (0, 130, -signal.SIGINT), output
    port_of_database = int((data_folder / "port").read_text())
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port_of_database), timeout=2)
    assert (data_folder / "data" / "PG_VERSION").exists()

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
