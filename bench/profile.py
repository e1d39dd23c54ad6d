"""Where a request's time goes, in-process (no HTTP server): `./bench/run profile [--size N] [--only ...]`.

Seeds a fresh database, then serves the issue's hot requests (the feed's page 1, the member search, the Hi5
and the recognition create; the floor as a diagnostic) straight through Django's WSGI handler, as gunicorn's
worker would call it: no test client, no HTTP parsing, no cProfile. The endpoints are timed in interleaved
rounds (a load drifting on a shared machine weighs on all of them alike) and printed in ms per request
against the targets of #14. A second, separate pass profiles each endpoint with cProfile and prints the
packages taking the most own time (cProfile inflates Python-heavy code: read it as proportions).

The request lines are the wrk benchmark's (bench/prepare.py), so both measure the same requests.
"""

import argparse
import collections
import cProfile
import io
import logging
import os
import pstats
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import django

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.tokens import token_encode  # noqa: E402
from bench.prepare import V1, endpoints  # noqa: E402
from bench.seed import seed  # noqa: E402

# ms per request, in-process, at 1M recognitions (#14, target 1); the floor is a diagnostic, no target.
TARGETS_MS = {"feed": 3.0, "users": 2.0, "hi5": 3.5, "create": 4.0}
ENDPOINTS = ("floor", "feed", "users", "hi5", "create")
EXPECTED_STATUS = {"hi5": 201, "create": 201}
Request = tuple[str, str, str, str]  # method, path, token, body


def package(filename: str, function: str) -> str:
    if "site-packages/" in filename:
        parts = filename.split("site-packages/")[1].split("/")
        return "/".join(parts[:2]) if parts[0] == "django" else parts[0]
    if filename.startswith(os.getcwd()):
        return filename[len(os.getcwd()) + 1 :]
    return "python: " + (function if filename == "~" else filename.rsplit("/", 1)[-1])


def wsgi_environ(request: Request) -> dict:
    """The WSGI environ gunicorn would build for one of the benchmark's request lines."""
    method, path, token, body = request
    path_info, _, query = path.partition("?")
    payload = body.encode()
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT": V1,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(payload),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if payload:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(payload))
    return environ


def caller(handler: Callable) -> Callable[[Request], int]:
    """send(request) -> status: one request through the WSGI handler, its body read and closed (which
    sends request_finished, as a server does)."""

    def send(request: Request) -> int:
        status = []
        response = handler(wsgi_environ(request), lambda line, headers, exc_info=None: status.append(line))
        try:
            for _chunk in response:
                pass
        finally:
            response.close()
        return int(status[0].split(" ", 1)[0])

    return send


def cycle(requests: list[Request]) -> Iterator[Request]:
    """The request lines in turn, again from the first after the last: a write line used twice answers a 4xx
    (a second Hi5 of a pair is a 409), which both passes refuse (EXPECTED_STATUS)."""
    while True:
        yield from requests


def backend_cpu_ns() -> int:
    """CPU time used so far by this connection's PostgreSQL backend process (the scheduler's own count, in
    ns: /proc/PID/schedstat), 0 when unknown (a server on another machine)."""
    connection.ensure_connection()
    try:
        with open(f"/proc/{connection.connection.info.backend_pid}/schedstat") as stat:
            return int(stat.read().split()[0])
    except OSError:
        return 0


def timed_rounds(
    send: Callable[[Request], int], lines: dict[str, Iterator[Request]], *, per_endpoint: int, rounds: int
) -> dict[str, tuple[float, float]]:
    """(wall ms, CPU ms) per request of each endpoint, measured in `rounds` interleaved rounds (endpoint A,
    B, ..., A, B, ...). CPU is this process's plus its PostgreSQL backend's: on a machine others share, it
    moves far less than wall time with their load. Raises if an answer has an unexpected status (a 4xx is
    cheaper than the real thing)."""
    wall = dict.fromkeys(lines, 0.0)
    cpu = dict.fromkeys(lines, 0)
    chunk = max(1, per_endpoint // rounds)
    for _ in range(rounds):
        for name, requests in lines.items():
            batch = [next(requests) for _ in range(chunk)]
            expected = EXPECTED_STATUS.get(name, 200)
            cpu_started, backend_started = time.process_time_ns(), backend_cpu_ns()
            started = time.perf_counter()
            statuses = [send(request) for request in batch]
            wall[name] += time.perf_counter() - started
            cpu[name] += time.process_time_ns() - cpu_started + backend_cpu_ns() - backend_started
            wrong = [status for status in statuses if status != expected]
            if wrong:
                raise SystemExit(f"{name}: {len(wrong)} answers were not {expected} (first: {wrong[0]})")
    count = chunk * rounds
    return {name: (wall[name] / count * 1000, cpu[name] / count / 1e6) for name in lines}


def verdict(name: str, ms: float) -> str:
    """`<= 3.0 ms: met` against the endpoint's target, or an empty string for the floor."""
    target = TARGETS_MS.get(name)
    if target is None:
        return ""
    return f"target <= {target:.1f} ms: {'met' if ms <= target else 'NOT MET'}"


def own_time_by_package(
    send: Callable[[Request], int], requests: Iterator[Request], count: int, *, expected: int = 200
) -> collections.Counter:
    profile = cProfile.Profile()
    batch = [next(requests) for _ in range(count)]
    profile.enable()
    statuses = [send(request) for request in batch]
    profile.disable()
    wrong = [status for status in statuses if status != expected]
    if wrong:  # a 4xx is cheaper than the real thing: its profile would mislead
        raise SystemExit(f"{len(wrong)} answers were not {expected} (first: {wrong[0]})")
    totals: collections.Counter = collections.Counter()
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in pstats.Stats(profile).stats.items():
        totals[package(filename, function)] += tottime / count * 1000
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000, help="recognitions seeded (the targets are at 1000000)")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=500, help="timed requests per endpoint")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--only", type=lambda value: value.split(","), help=f"endpoints among {','.join(ENDPOINTS)}")
    parser.add_argument("--no-cprofile", action="store_true", help="timings only")
    args = parser.parse_args()
    selected = [name for name in ENDPOINTS if not args.only or name in args.only]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'recognitions_recognition'")
        if cursor.fetchone()[0]:
            raise SystemExit("run on an empty database (./bench/run profile does)")
    call_command("migrate", verbosity=0)
    started = time.monotonic()
    info = seed(recognitions=args.size, users=args.users)
    print(f"seeded {info.recognitions:,} recognitions, {args.users:,} users in {time.monotonic() - started:.0f} s")
    bench_users = list(User.objects.filter(pk__in=info.bench_user_ids).select_related("organization"))
    tokens = [token_encode(user).token for user in bench_users]
    all_lines = endpoints(info=info, tokens=tokens, rng=random.Random(42))
    lines = {name: cycle(all_lines[name]) for name in selected}
    # One JSON access line per request goes to a file, as under gunicorn (bench/main.py), not to a terminal
    # or a pipe whose reader would set the pace.
    log_path = Path(__file__).resolve().parent / "results" / "profile-access.log"
    log_path.parent.mkdir(exist_ok=True)
    log_file = open(log_path, "w")  # noqa: SIM115 (open until the process ends)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(log_file)
    send = caller(WSGIHandler())
    for _ in range(50):  # warm-up: imports, caches, the connection, the planner's statistics
        for requests in lines.values():
            send(next(requests))
    per_request = timed_rounds(send, lines, per_endpoint=args.requests, rounds=args.rounds)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"\nN = {args.size:,}, in-process through the WSGI handler, {args.requests} requests each in "
        f"{args.rounds} interleaved rounds (load average {load}):"
    )
    print(f"  {'':8} {'wall':>9} {'CPU':>9}   (CPU: this process + its PostgreSQL backend)")
    for name, (ms, cpu_ms) in per_request.items():
        print(f"  {name:8} {ms:6.2f} ms {cpu_ms:6.2f} ms   {verdict(name, ms)}")
    if args.no_cprofile:
        return
    print("\ncProfile (a separate pass), own time per request (ms), the 12 largest per endpoint:")
    for name in selected:
        totals = own_time_by_package(send, lines[name], args.requests, expected=EXPECTED_STATUS.get(name, 200))
        print(f"  {name} (total {sum(totals.values()):.3f} ms under cProfile)")
        for key, ms in totals.most_common(12):
            print(f"    {key[:64]:64} {ms:7.3f}")


if __name__ == "__main__":
    main()
