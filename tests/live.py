"""Real processes for tests: a throwaway redis-server and gunicorn instances of Peerly, all on 127.0.0.1."""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class RedisServer:
    """`redis-server` with no persistence on a free port (the Debian package; scripts/test installs it)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: install the Debian package redis-server (scripts/test does)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=2)

    def start(self) -> "RedisServer":
        import redis

        def ready() -> bool:
            try:
                return self.client().ping()
            except redis.exceptions.ConnectionError:  # not an OSError: wait_until would not retry it
                return False

        wait_until(ready, timeout=15, what="redis-server")
        return self

    def stop(self) -> None:
        stop(self.process)


def shared_database_url() -> str:
    """The URL of the database pytest-django created (test_<name>), for server processes to share it."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class _PeerlyProcess:
    """A Peerly process on the test database (production settings, its output in a temporary log)."""

    label = "peerly"

    def __init__(self, command: list[str], **env: str) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix=f"peerly-{self.label}-", suffix=".log", delete=False)  # noqa: SIM115
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "peerly.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            "DATABASE_URL": shared_database_url(),
            "PEERLY_LOG_LEVEL": "WARNING",
            **env,
        }
        self.process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT)

    def exited(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.label} exited with {self.process.returncode}:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        stop(self.process)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


class PeerlyServer(_PeerlyProcess):
    """Peerly under gunicorn (gunicorn.conf.py, one worker) on a free port, with the given environment."""

    label = "gunicorn"

    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        defaults = {
            "PEERLY_JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "PEERLY_SSL_REDIRECT": "false",
            "DATABASE_CONN_MAX_AGE": "0",
            "PEERLY_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "1",
        }
        super().__init__(
            [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py")], **defaults | env
        )

    def start(self) -> "PeerlyServer":
        def healthy() -> bool:
            self.exited()
            return requests.get(f"{self.url}/health", timeout=2).status_code == 200

        wait_until(healthy, timeout=60, what=f"gunicorn on port {self.port}")
        return self


class Worker(_PeerlyProcess):
    """`manage.py procrastinate worker` as its own process on the test database, mailing to `smtp_port`."""

    label = "worker"

    def __init__(self, *, smtp_port: int, name: str = "test-worker", queues: str = "notifications", **env: str) -> None:
        self.name = name
        self.workers_before = self.workers_registered()
        # Only the notifications' queue by default: the periodic jobs (renewals, digests) stay out of the way.
        command = [sys.executable, "manage.py", "procrastinate", "worker", "--name", name, "--queues", queues]
        super().__init__(command, **{"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port)} | env)

    def start(self) -> "Worker":
        def registered() -> bool:
            self.exited()
            return self.workers_registered() > self.workers_before  # its first heartbeat

        wait_until(registered, timeout=60, what=f"worker {self.name}")
        return self

    @staticmethod
    def workers_registered() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM procrastinate_workers")
            return cursor.fetchone()[0]

    def kill(self) -> None:
        """SIGKILL: no goodbye, its jobs left `doing` (a machine that died)."""
        self.process.kill()
        self.process.wait(timeout=10)


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free loopback port that keeps every message it receives."""

    def __init__(self, port: int | None = None, *, stall_first: bool = False) -> None:
        from aiosmtpd.controller import Controller

        self.stall_first = stall_first  # hold the first message for a minute (a worker killed mid-send)
        self.stalled = False
        self.messages: list = []
        self.port = port or free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:
        from email import message_from_bytes, policy

        if self.stall_first and not self.stalled:
            self.stalled = True
            await asyncio.sleep(60)
            return "451 Try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def wait_for(self, count: int, *, timeout: float = 30) -> list:
        wait_until(lambda: len(self.messages) >= count, timeout=timeout, what=f"{count} email(s)")
        return self.messages


def newcomer_environment(data: Path, port: int) -> dict[str, str]:
    """What a new user's shell has: no DATABASE_URL, none of the test run's DJANGO_* settings."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith(("DJANGO_", "PEERLY_"))}
    # A venv the caller already has (PEERLY_VENV) spares the scripts an install; a newcomer has none.
    venv = {"PEERLY_VENV": os.environ["PEERLY_VENV"]} if os.environ.get("PEERLY_VENV") else {}
    return {**env, **venv, "PEERLY_PG_DATA": str(data), "PEERLY_RUN_ADDR": f"127.0.0.1:{port}"}


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


def run_data_folder(folder: Path) -> Path:
    """Where ./scripts/run may keep its cluster: a folder the postgres user reaches (scripts/pg.sh, as root)."""
    folder.chmod(0o755)  # as a checkout is
    return folder / "pgdata"


def stop_run_database(data: Path) -> None:
    """Stop the PostgreSQL server ./scripts/run started on `data`, if it still runs."""
    pg_ctl = shutil.which("pg_ctl") or next(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), None)
    if pg_ctl and (data / "data").exists():
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*as_postgres, str(pg_ctl), "-D", str(data / "data"), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )


class HttpSink:
    """A local HTTP server (127.0.0.1, a free port) standing in for Slack or a webhook receiver: it
    keeps every request and answers with the statuses it is told (then 200)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        sink = self
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []  # (status, headers), used up in order
        self.delays: list[float] = []  # seconds to wait before answering, used up in order (a slow receiver)
        self.body = b"ok"  # the body of every answer
        self.trickle = 0.0  # seconds between the body's bytes, sent one by one (a receiver that trickles)
        self.raw: list[bytes] = []  # bytes to answer instead of HTTP, used up in order (a broken receiver)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self._record()

            def do_GET(self) -> None:
                self._record()

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                sink.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                if sink.delays:
                    time.sleep(sink.delays.pop(0))
                if sink.raw:
                    self.wfile.write(sink.raw.pop(0))
                    self.close_connection = True
                    return
                status, headers = sink.answers.pop(0) if sink.answers else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(sink.body)))
                self.end_headers()
                try:
                    if not sink.trickle:
                        self.wfile.write(sink.body)
                    for byte in sink.body if sink.trickle else b"":
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(sink.trickle)
                except OSError:  # the client gave up on us
                    self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "HttpSink":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
