"""The benchmark's conductor (started by `bench/run`, which provides the venv, PostgreSQL and wrk).

For each size: a fresh database, `bench.prepare` (migrate, seed, request files, query counts, plans), one
gunicorn worker serving production settings on 127.0.0.1, then wrk (a separate process, 4 connections) on
each endpoint for a fixed duration, the writes interleaved with a second server's that has the
notifications off (bench/settings_quiet.py). At the largest size then: the same endpoints served by 1, 2
and the default number of workers (gunicorn.conf.py's formula) side by side, one worker's memory after
1,000 and after 100,000 mixed requests, and 2 workers draining 10,000 queued emails (bench/drain.py).
Prints the figures and a Markdown table, writes bench/results/<date>.json.
"""

import argparse
import json
import os
import platform
import runpy
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

# name, label; reads first (writes change the tables), the floor right before the feed it is compared with.
ENDPOINTS = [
    ("floor", "floor: bare Django view, same feed SQL"),
    ("feed", "GET /recognitions (page 1)"),
    ("feed_given_for", "GET /recognitions?given_for=ID"),
    ("feed_offset", "GET /recognitions?offset=10000"),
    ("feed_last", "GET /recognitions?offset=N-10 (last page)"),
    ("feed_cursor", "GET /recognitions?before=CURSOR (last page)"),
    ("users", "GET /users?starts_with=XX"),
    ("summary_90d", "GET /insights/summary (90 days)"),
    ("summary_3y", "GET /insights/summary (3 years)"),
    ("leaderboard_90d", "GET /insights/leaderboard (90 days)"),
    ("leaderboard_3y", "GET /insights/leaderboard (3 years)"),
    ("timeline_3y", "GET /insights/timeline (3 years, weekly)"),
    ("stats", "GET /users/me/stats"),
    ("create", "POST /recognitions"),
    ("hi5", "POST /recognitions/:id/hi5"),
]
WRITES = ("create", "hi5")
INSIGHTS = ("summary_90d", "summary_3y", "leaderboard_90d", "leaderboard_3y", "timeline_3y", "stats")
INSIGHTS_P99_TARGET = 2.0  # each insights endpoint's p99 at most 2x the feed page's, same run
EXPORT_RATE_TARGET = 50_000  # rows/s of the full CSV export
EXPORT_RSS_TARGET_MB = 50  # the worker's RSS may grow by less than this during it
# The writes also on a server whose settings turn the domain events off (bench/settings_quiet.py),
# interleaved with the main server's: what deferring the notifications' job costs a write.
QUIET_WRITES = [
    ("create_quiet", "POST /recognitions, notifications off"),
    ("hi5_quiet", "POST .../hi5, notifications off"),
]
NOTIFICATIONS_COST_TARGET = 0.9  # writes with notifications on: at least 0.9x the req/s without
FEED_QUERY_BUDGET = 4
DEEP_PAGE_RPS_TARGET = 100  # the feed's last page by offset (#14)
WRITE_QUERY_BUDGET = 6  # statements; since #11 one of them defers the event's job (peerly/events.py)
# Round two (#14): absolute req/s, member search against the original Node backend on the same machine.
USERS_RPS_TARGET = 500  # GET /users?starts_with= on one worker
USERS_TO_FEED_TARGET = 2.0  # ... and at least twice the feed page's req/s, same run (it reads far less)
USERS_ORIGINAL_RPS = 851  # ... and at least the original's with the default number of workers
WRITE_RPS_TARGET = 250  # the Hi5 and the recognition create on one worker
SCALING_TARGET = 1.7  # req/s with 2 workers at least 1.7x one worker's (2 cores)
SCALING_ENDPOINTS = "feed,feed_given_for,feed_offset,users,create,hi5"
RSS_GROWTH_TARGET = 0.10  # the worker's RSS after the last mark of --rss-requests within 10% of the first
# `--only` takes endpoints and these runs of the largest size (all of them run by default).
RUNS = ("export", "scaling", "rss")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text().split("\n")[0].split()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(int(meminfo[1]) / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def wait_for_health(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own loopback server)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {url} within {timeout}s")


def default_workers(conf: Path = ROOT / "gunicorn.conf.py") -> int:
    """The number of workers gunicorn.conf.py starts when WEB_CONCURRENCY is not set: its own formula."""
    saved = os.environ.pop("WEB_CONCURRENCY", None)
    try:
        return int(runpy.run_path(str(conf))["workers"])
    finally:
        if saved is not None:
            os.environ["WEB_CONCURRENCY"] = saved


def worker_counts(default: int) -> list[int]:
    """The worker counts the scaling run compares: 1, 2 and the default, each once."""
    return sorted({1, 2, default})


def growth(before: float, after: float) -> float:
    """How much `after` exceeds `before`, as a fraction of `before` (0.1 is 10% more)."""
    return (after - before) / before if before else float("inf")


def run_wrk(*, url: str, requests_file: Path, seconds: int, connections: int, stop_after: int = 0) -> dict:
    """wrk on one request file for `seconds` (or, with `stop_after`, until that many responses)."""
    env = {**os.environ, "BENCH_REQUESTS": str(requests_file)}
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(BENCH / "wrk.lua"), url]
    if stop_after:
        done = requests_file.with_suffix(".done")
        done.unlink(missing_ok=True)
        env.update(BENCH_STOP_AFTER=str(stop_after), BENCH_DONE_FILE=str(done))
        wrk = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)  # noqa: S603
        while wrk.poll() is None and not done.exists():
            time.sleep(0.05)
        if wrk.poll() is None:
            wrk.send_signal(signal.SIGINT)  # wrk stops and prints its summary
        output = wrk.communicate()[0]
        if wrk.returncode != 0:
            raise subprocess.CalledProcessError(wrk.returncode, command, output)
    else:
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout  # noqa: S603
    summary = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    return {
        "requests": summary["requests"],
        "seconds": summary["duration_us"] / 1e6,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "p50_ms": round(summary["p50_us"] / 1000, 2),
        "p90_ms": round(summary["p90_us"] / 1000, 2),
        "p99_ms": round(summary["p99_us"] / 1000, 2),
        "max_ms": round(summary["max_us"] / 1000, 2),
        "non_2xx_3xx": summary["non_2xx_3xx"],
        "socket_errors": summary["socket_errors"],
        "timeouts": summary["timeouts"],
    }


def combine(slices: list[dict]) -> dict:
    """One endpoint's figures over its slices: req/s over the total time, the mean of the slices' p50 and
    p90, the worst of their p99 and max (and the median of the worker's CPU per request, when measured)."""
    seconds = sum(one["seconds"] for one in slices)
    requests = sum(one["requests"] for one in slices)
    return {
        "requests": requests,
        "seconds": round(seconds, 1),
        "slices": len(slices),
        "rps": round(requests / seconds, 1),
        "p50_ms": round(sum(one["p50_ms"] for one in slices) / len(slices), 2),
        "p90_ms": round(sum(one["p90_ms"] for one in slices) / len(slices), 2),
        "p99_ms": max(one["p99_ms"] for one in slices),
        "max_ms": max(one["max_ms"] for one in slices),
        **{key: sum(one[key] for one in slices) for key in ("non_2xx_3xx", "socket_errors", "timeouts")},
        "loadavg_1m": [one["loadavg_1m"] for one in slices],
        **(
            {"cpu_ms_per_request": round(statistics.median(one["cpu_ms_per_request"] for one in slices), 2)}
            if all("cpu_ms_per_request" in one for one in slices)
            else {}
        ),
    }


def bench_size(size: int, args, base_url: str, workdir: Path) -> dict:
    name = f"bench_{size}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url(base_url, name),
        "DATABASE_CONN_MAX_AGE": "600",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production-" + "x" * 20,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "PEERLY_SSL_REDIRECT": "false",  # plain HTTP on loopback; TLS ends at a proxy in production
        # Rate limits (when the API has them) would stop a load test: lift them far above what it sends.
        "PEERLY_RATE_LIMIT_READS": "100000000/s",
        "PEERLY_RATE_LIMIT_WRITES": "100000000/s",
        "PEERLY_RATE_LIMIT_SIGNIN": "100000000/s",
        "PEERLY_RATE_LIMIT_API_KEYS": "100000000/s",
    }
    out = workdir / str(size)
    print(f"\n==> N = {size:,}: migrate and seed", flush=True)
    prepared = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.prepare", "--size", str(size), "--users", str(args.users), "--out", str(out)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if prepared.returncode != 0:
        sys.stderr.write(prepared.stdout + prepared.stderr)
        raise SystemExit(f"bench.prepare failed for N = {size}")
    prepare = json.loads((out / "prepare.json").read_text())
    prepare["explain_summary"] = [line.strip() for line in prepared.stderr.splitlines() if "EXPLAIN ANALYZE" in line]
    print(
        f"    {prepare['recognitions']:,} recognitions, {prepare['hi5s']:,} Hi5s, {prepare['users']:,} users; "
        f"migrate {prepare['migrate_seconds']} s, seed {prepare['seed_seconds']} s",
        flush=True,
    )
    for line in prepare["explain_summary"]:
        print(f"    {line}", flush=True)
    server, url, server_log = serve(env, args, out / "gunicorn.log")
    results: dict[str, dict] = {}
    load = {"before": os.getloadavg()}
    try:
        wait_for_health(f"{url}/health")
        print(f"    gunicorn ({args.worker_class}, 1 worker, {args.threads} threads) on {url}; warming up", flush=True)
        cold = measure_cold_insights(
            url, out, [e for e in INSIGHTS if e != "stats" and (not args.only or e in args.only)]
        )
        for warm in ("feed", "floor", "feed_offset"):
            run_wrk(url=url, requests_file=out / f"{warm}.tsv", seconds=args.warmup, connections=args.connections)
        selected = [(e, label) for e, label in ENDPOINTS if not args.only or e in args.only]
        reads = [(e, label) for e, label in selected if e not in WRITES]
        writes = [(e, label) for e, label in selected if e in WRITES]
        # Reads in interleaved rounds (floor, feed, ..., floor, feed, ...): the machine is shared, and a load
        # that drifts during the run then weighs on every endpoint alike, the floor included.
        slices: dict[str, list[dict]] = {e: [] for e, _ in selected}
        slice_seconds = max(1, round(args.duration / args.rounds))
        for _ in range(args.rounds):
            for endpoint, _label in reads:
                slices[endpoint].append(
                    run_wrk(
                        url=url,
                        requests_file=out / f"{endpoint}.tsv",
                        seconds=slice_seconds,
                        connections=args.connections,
                    )
                )
        for endpoint, label in reads:
            results[endpoint] = read_figures(endpoint, label, slices[endpoint], prepare)
            if endpoint in cold:
                results[endpoint]["cold_ms"], results[endpoint]["second_ms"] = cold[endpoint]
        if selected_run(args, "export"):
            results["export"] = measure_export(url, server, out)
        if writes:
            quiet = interleaved_writes(env, args, out, server, url, [e for e, _ in writes], slices)
            for endpoint, label in writes:
                results[endpoint] = read_figures(endpoint, label, slices[endpoint], prepare)
            for endpoint, label in QUIET_WRITES:
                if endpoint in quiet:
                    results[endpoint] = combine(quiet[endpoint])
                    report(label, results[endpoint])
            for endpoint, _label in writes:
                ratios = paired_ratios(slices[endpoint], quiet[f"{endpoint}_quiet"])
                results[endpoint]["round_ratios"] = ratios
                print(
                    f"    {endpoint}: on ÷ off {results[endpoint]['rps'] / results[f'{endpoint}_quiet']['rps']:.2f} "
                    f"(rounds: median {statistics.median(ratios):.2f}, {min(ratios):.2f}-{max(ratios):.2f}); "
                    f"worker CPU per request {results[endpoint]['cpu_ms_per_request']:.2f} ms on, "
                    f"{results[f'{endpoint}_quiet']['cpu_ms_per_request']:.2f} ms off",
                    flush=True,
                )
    finally:
        stop_server(server, server_log)
    load["after"] = os.getloadavg()
    floor = results.get("floor", {}).get("rps")
    for figures in results.values():
        if "rps" in figures:
            figures["ratio_to_floor"] = round(figures["rps"] / floor, 2) if floor else None
    scaling = rss = None
    if size == args.largest and selected_run(args, "scaling"):
        scaling = measure_scaling(env, args, out)
    if size == args.largest and selected_run(args, "rss"):
        rss = measure_rss(env, args, out)
    drain = None
    if args.drain_emails and size == args.largest:
        print(f"    draining {args.drain_emails:,} queued emails with {args.drain_workers} workers", flush=True)
        command = [sys.executable, "-m", "bench.drain", "--emails", str(args.drain_emails)]
        drained = subprocess.run(  # noqa: S603
            [*command, "--workers", str(args.drain_workers), "--out", str(out)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if drained.returncode != 0:
            sys.stderr.write(drained.stdout + drained.stderr)
            raise SystemExit("bench.drain failed")
        drain = json.loads(drained.stdout.strip().splitlines()[-1])
        print(
            f"    {drain['emails']:,} emails drained by {drain['workers']} workers in {drain['seconds']} s "
            f"({drain['emails_per_second']} emails/s)",
            flush=True,
        )
    if not args.keep_databases:
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name}")
    return {"prepare": prepare, "endpoints": results, "loadavg": load, "drain": drain, "scaling": scaling, "rss": rss}


def selected_run(args, run: str) -> bool:
    return not args.only or run in args.only


def split_lines(source: Path, parts: int, out: Path, stem: str) -> list[Path]:
    """`source` cut into `parts` files of consecutive lines (each Hi5 pair then used by one slice only)."""
    lines = source.read_text().splitlines(keepends=True)
    chunk = len(lines) // parts
    paths = []
    for index in range(parts):
        path = out / f"{stem}-{index}.tsv"
        path.write_text("".join(lines[index * chunk : (index + 1) * chunk]))
        paths.append(path)
    return paths


def measure_scaling(env: dict, args, out: Path) -> dict:
    """The endpoints of --scaling-endpoints served by 1, 2 and the default number of workers: three servers
    up at once, in interleaved rounds (each endpoint on each server in turn, the servers' order alternating),
    each with `--connections` connections per worker. Returns {endpoint: {workers: figures}}."""
    counts = worker_counts(default_workers())
    endpoints = args.scaling_endpoints
    print(f"    scaling: {', '.join(endpoints)} with {', '.join(map(str, counts))} workers", flush=True)
    servers = {count: serve(env, args, out / f"gunicorn-{count}w.log", workers=count) for count in counts}
    slice_seconds = max(1, round(args.duration / args.rounds))
    hi5_files = iter(split_lines(out / "hi5_scaling.tsv", len(counts) * args.rounds, out, "hi5-scaling"))
    slices: dict[str, dict[int, list[dict]]] = {name: {count: [] for count in counts} for name in endpoints}
    try:
        for count, (_server, url, _log) in servers.items():
            wait_for_health(f"{url}/health")
            for warm in ("feed", "users"):
                run_wrk(
                    url=url,
                    requests_file=out / f"{warm}.tsv",
                    seconds=args.warmup,
                    connections=args.connections * count,
                )
        for round_number in range(args.rounds):
            order = counts if round_number % 2 == 0 else counts[::-1]
            for name in endpoints:
                for count in order:
                    requests_file = next(hi5_files) if name == "hi5" else out / f"{name}.tsv"
                    slices[name][count].append(
                        run_wrk(
                            url=servers[count][1],
                            requests_file=requests_file,
                            seconds=slice_seconds,
                            connections=args.connections * count,
                        )
                    )
    finally:
        for server, _url, server_log in servers.values():
            stop_server(server, server_log)
    results = {name: {count: combine(slices[name][count]) for count in counts} for name in endpoints}
    header = "".join(f"{f'{count} worker' + ('s' if count > 1 else ''):>12}" for count in counts)
    print(f"    {'req/s by workers':42}{header}{'2 / 1':>8}", flush=True)
    for name in endpoints:
        figures = results[name]
        row = "".join(f"{figures[count]['rps']:12.1f}" for count in counts)
        print(f"    {dict(ENDPOINTS)[name]:42}{row}{figures[2]['rps'] / figures[1]['rps']:8.2f}", flush=True)
    return {"workers": counts, "endpoints": {name: {str(c): f for c, f in by.items()} for name, by in results.items()}}


def measure_rss(env: dict, args, out: Path) -> dict:
    """One worker's RSS after each mark of --rss-requests (1,000 and 100,000) mixed requests
    (bench/prepare.py: MIXED_WEIGHTS, every Hi5 a first one), counted by wrk."""
    server, url, server_log = serve(env, args, out / "gunicorn-rss.log")
    lines = (out / "mixed.tsv").read_text().splitlines(keepends=True)
    marks = sorted(args.rss_requests)
    figures: dict = {"marks": {}, "non_2xx_3xx": 0}
    try:
        wait_for_health(f"{url}/health")
        worker = gunicorn_worker(server.pid)
        done = start = 0
        for mark in marks:
            # wrk stops after the mark's response while each other connection has one more request out: those
            # get lines of their own too (never a Hi5 pair twice), skipped by the next part.
            end = start + (mark - done) + args.connections
            part = out / f"mixed-{mark}.tsv"
            part.write_text("".join(lines[start:end]))
            ran = run_wrk(
                url=url, requests_file=part, seconds=3600, connections=args.connections, stop_after=mark - done
            )
            done += ran["requests"]
            start = end
            figures["non_2xx_3xx"] += ran["non_2xx_3xx"]
            figures["marks"][str(mark)] = {"requests": done, "rss_mb": round(rss_mb(worker), 1)}
            print(f"    worker RSS after {done:,} mixed requests: {rss_mb(worker):.1f} MB", flush=True)
    finally:
        stop_server(server, server_log)
    first, last = figures["marks"][str(marks[0])], figures["marks"][str(marks[-1])]
    figures["growth"] = round(growth(first["rss_mb"], last["rss_mb"]), 3)
    return figures


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure_cold_insights(url: str, out: Path, endpoints: list[str]) -> dict[str, tuple[float, float]]:
    """The first request of each insights endpoint on the fresh worker (its closed days read from the
    rollups, then cached) and the second (the cache's), in ms: wrk's figures are mostly the second kind."""
    cold = {}
    for endpoint in endpoints:
        method, path, token, _body = (out / f"{endpoint}.tsv").read_text().splitlines()[0].split("\t")
        request = urllib.request.Request(  # noqa: S310 (our own loopback server)
            f"{url}{path}",
            method=method,
            headers={"Accept": "application/vnd.peerly.v1", "Authorization": f"Bearer {token}"},
        )
        times = []
        for _ in range(2):
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                response.read()
            times.append(round((time.perf_counter() - started) * 1000, 1))
        cold[endpoint] = (times[0], times[1])
        print(f"    {endpoint}: first request {times[0]} ms (closed days read), second {times[1]} ms", flush=True)
    return cold


def measure_export(url: str, server: subprocess.Popen, out: Path) -> dict:
    """The full 3-year CSV export, read to the end: rows/s and the gunicorn worker's RSS before and after."""
    worker = gunicorn_worker(server.pid)
    token = (out / "admin_token").read_text().strip()
    first = (datetime.now(UTC).date() - timedelta(days=365 * 3 - 1)).isoformat()
    request = urllib.request.Request(  # noqa: S310 (our own loopback server)
        f"{url}/recognitions/export?from={first}&format=csv",
        headers={"Accept": "application/vnd.peerly.v1", "Authorization": f"Bearer {token}"},
    )
    before = rss_mb(worker)
    peak = before
    rows = -1  # the header
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
        # Read in blocks and count line ends (the seeded texts hold no line break): the client's own
        # cost per row stays small on the machine it shares with the server.
        carry = b""
        while block := response.read(1 << 20):
            block = carry + block
            rows += block.count(b"\r\n")
            carry = b"\r" if block.endswith(b"\r") else b""  # a CRLF split across two blocks: counted next
            peak = max(peak, rss_mb(worker))
    seconds = time.monotonic() - started
    figures = {
        "rows": rows,
        "seconds": round(seconds, 1),
        "rows_per_second": round(rows / seconds),
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(max(peak, rss_mb(worker)), 1),
    }
    figures["rss_growth_mb"] = round(figures["rss_peak_mb"] - before, 1)
    print(
        f"    {'GET /recognitions/export (CSV, 3 years)':42} {figures['rows_per_second']:8,} rows/s  "
        f"{rows:,} rows in {figures['seconds']} s  worker RSS {before:.0f} -> {figures['rss_peak_mb']:.0f} MB",
        flush=True,
    )
    return figures


def report(label: str, figures: dict) -> None:
    print(
        f"    {label:42} {figures['rps']:8.1f} req/s  p50 {figures['p50_ms']:6.2f} ms  "
        f"p99 {figures['p99_ms']:6.2f} ms  queries {figures.get('queries', '-')}  non-2xx {figures['non_2xx_3xx']}  "
        f"errors {figures['socket_errors'] + figures['timeouts']}",
        flush=True,
    )


def read_figures(endpoint: str, label: str, slices: list[dict], prepare: dict) -> dict:
    figures = combine(slices)
    figures["queries"] = prepare["queries"][endpoint]["queries"]
    figures["round_trips"] = prepare["queries"][endpoint]["round_trips"]
    figures["status_in_process"] = prepare["queries"][endpoint]["status"]
    report(label, figures)
    return figures


def interleaved_writes(
    env: dict,
    args,
    out: Path,
    main_server: subprocess.Popen,
    url: str,
    writes: list[str],
    slices: dict[str, list[dict]],
) -> dict[str, list[dict]]:
    """The writes with the notifications on (the main server, `url`) and off (a second server whose
    settings turn the domain events off: bench/settings_quiet.py), in interleaved rounds (`--write-rounds`
    of `--write-slice` seconds), on and off in turn and in alternating order, so a load that drifts weighs
    on both alike. Short slices and many rounds: on a shared machine the load moves within seconds, and
    one round's on ÷ off ranges from 0.6 to 1.5 (BENCHMARKS.md), so a few rounds cannot tell 0.9 from
    1.0. Each slice has request lines of its own (every Hi5 pair is a first one) and records the gunicorn
    worker's CPU time per request. Appends the "on" slices to `slices`; returns the "off" ones."""
    quiet_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.settings_quiet"}
    server, quiet_url, server_log = serve(quiet_env, args, out / "gunicorn-quiet.log")
    quiet: dict[str, list[dict]] = {f"{endpoint}_quiet": [] for endpoint in writes}
    rounds = args.write_rounds
    try:
        wait_for_health(f"{quiet_url}/health")
        run_wrk(url=quiet_url, requests_file=out / "feed.tsv", seconds=args.warmup, connections=args.connections)
        for endpoint in writes:
            split_lines(out / f"{endpoint}.tsv", 2 * rounds, out, f"{endpoint}-slice")
        workers = {False: gunicorn_worker(main_server.pid), True: gunicorn_worker(server.pid)}
        for round_number in range(rounds):
            order = [(url, False), (quiet_url, True)]
            if round_number % 2:
                order.reverse()
            for endpoint in writes:
                for position, (target, is_quiet) in enumerate(order):
                    requests_file = out / f"{endpoint}-slice-{2 * round_number + position}.tsv"
                    cpu_before = process_cpu_seconds(workers[is_quiet])
                    figures = run_wrk(
                        url=target, requests_file=requests_file, seconds=args.write_slice, connections=args.connections
                    )
                    spent = process_cpu_seconds(workers[is_quiet]) - cpu_before
                    figures["cpu_ms_per_request"] = round(spent * 1000 / max(figures["requests"], 1), 2)
                    (quiet[f"{endpoint}_quiet"] if is_quiet else slices[endpoint]).append(figures)
    finally:
        stop_server(server, server_log)
    return quiet


def gunicorn_worker(master_pid: int) -> int:
    """The one worker process of a gunicorn master."""
    return int(Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()[0])


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def paired_ratios(on: list[dict], off: list[dict]) -> list[float]:
    """on ÷ off req/s of each round (its two slices ran back to back)."""
    return [
        round(a["requests"] / a["seconds"] / (b["requests"] / b["seconds"]), 3) for a, b in zip(on, off, strict=True)
    ]


def stop_server(server: subprocess.Popen, server_log) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
    server_log.close()


def serve(env: dict, args, log_path: Path, *, workers: int = 1):
    """A gunicorn server (one worker unless told) on a free port: (process, url, its log)."""
    port = free_port()
    server_log = open(log_path, "w")  # noqa: SIM115 (closed by stop_server)
    command = [
        "gunicorn",
        "peerly.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--keep-alive",
        "30",
        # gunicorn.conf.py (read from the working directory) recycles a worker every ~2,000 requests: with the
        # one worker measured here each recycle stops all traffic for about a second (a fresh Django, fresh
        # connections), which is what p99 would then measure. Steady state only; the rest of the file applies.
        "--max-requests",
        "0",
    ]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=server_log, stderr=subprocess.STDOUT)  # noqa: S603
    return server, f"http://127.0.0.1:{port}", server_log


def targets(sizes: dict[int, dict]) -> list[tuple[str, str, bool | None]]:
    """(target, what was measured, met?) for the issue's targets; None when the run cannot tell."""
    checks: list[tuple[str, str, bool | None]] = []
    largest, smallest = max(sizes), min(sizes)
    big = sizes[largest]["endpoints"]
    if "feed" in big and "floor" in big:
        ratio = big["feed"]["ratio_to_floor"]
        checks.append((f"feed page 1 at N={largest:,}: >= 0.8 of the floor's req/s", f"{ratio:.2f}", ratio >= 0.8))
        p99 = big["feed"]["p99_ms"]
        checks.append((f"feed page 1 at N={largest:,}: p99 < 50 ms", f"{p99:.1f} ms", p99 < 50))
    if largest != smallest:
        small = sizes[smallest]["endpoints"]
        for endpoint in ("feed", "feed_offset"):
            if endpoint in big and endpoint in small:
                growth = big[endpoint]["p50_ms"] / small[endpoint]["p50_ms"]
                growth99 = big[endpoint]["p99_ms"] / small[endpoint]["p99_ms"]
                checks.append(
                    (
                        f"{endpoint} p50 at N={largest:,} within 1.5x of N={smallest:,}",
                        f"{growth:.2f}x (p99 {growth99:.2f}x)",
                        growth <= 1.5,
                    )
                )
    feed_p99 = big.get("feed", {}).get("p99_ms")
    for endpoint in INSIGHTS:
        if endpoint in big and feed_p99:
            target = f"{endpoint} at N={largest:,}: p99 <= {INSIGHTS_P99_TARGET}x the feed page's"
            if big[endpoint]["requests"] == 0:  # none answered within wrk's 10 s timeout
                checks.append((target, "no answer within 10 s", False))
                continue
            ratio = big[endpoint]["p99_ms"] / feed_p99
            checks.append(
                (
                    target,
                    f"{ratio:.1f}x ({big[endpoint]['p99_ms']:.0f} ms vs {feed_p99:.0f} ms), "
                    f"{big[endpoint]['queries']} queries",
                    ratio <= INSIGHTS_P99_TARGET,
                )
            )
    if "export" in big:
        export = big["export"]
        checks.append(
            (
                f"CSV export at N={largest:,}: >= {EXPORT_RATE_TARGET:,} rows/s, RSS +< {EXPORT_RSS_TARGET_MB} MB",
                f"{export['rows_per_second']:,} rows/s ({export['rows']:,} rows), RSS +{export['rss_growth_mb']} MB",
                export["rows_per_second"] >= EXPORT_RATE_TARGET and export["rss_growth_mb"] < EXPORT_RSS_TARGET_MB,
            )
        )
    for endpoint in WRITES:
        on, off = big.get(endpoint), big.get(f"{endpoint}_quiet")
        if on and off:
            ratio = on["rps"] / off["rps"]
            refused = on["non_2xx_3xx"] + off["non_2xx_3xx"]  # a refused write is cheaper: no comparison then
            rounds = on.get("round_ratios") or [ratio]
            checks.append(
                (
                    f"{endpoint} at N={largest:,} with notifications on: >= {NOTIFICATIONS_COST_TARGET}x the req/s "
                    "without",
                    f"{ratio:.2f}x ({on['rps']:.0f} vs {off['rps']:.0f} req/s; {len(rounds)} rounds, median "
                    f"{statistics.median(rounds):.2f}, {min(rounds):.2f}-{max(rounds):.2f}; {refused} non-2xx)",
                    ratio >= NOTIFICATIONS_COST_TARGET and refused == 0,
                )
            )
    # Deep pages (#14, target 5): the last page by offset, and a cursor page that costs what page 1 costs.
    if "feed_last" in big:
        rps = big["feed_last"]["rps"]
        checks.append(
            (
                f"feed last page by offset at N={largest:,}: >= {DEEP_PAGE_RPS_TARGET} req/s",
                f"{rps:.0f}",
                rps >= DEEP_PAGE_RPS_TARGET,
            )
        )
    if "feed_cursor" in big and "feed" in big:
        ratio = big["feed_cursor"]["p50_ms"] / big["feed"]["p50_ms"]
        checks.append(
            (f"feed cursor page at depth N={largest:,}: p50 within 1.2x of page 1's", f"{ratio:.2f}x", ratio <= 1.2)
        )
    checks.extend(round_two_targets(sizes[largest], largest))
    drain = sizes[largest].get("drain")
    if drain:
        checks.append(
            (
                f"{drain['workers']} workers drain {drain['emails']:,} queued emails to the local SMTP server",
                f"{drain['seconds']} s ({drain['emails_per_second']} emails/s)",
                None,  # a figure to record; the issue sets no target for it
            )
        )
    for size, data in sorted(sizes.items()):
        queries = data["prepare"]["queries"]
        feed_max = max(queries[e]["queries"] for e in ("feed", "feed_given_for", "feed_offset"))
        write_max = max(queries[e]["queries"] for e in ("create", "hi5"))
        checks.append(
            (
                f"feed queries per request at N={size:,} <= {FEED_QUERY_BUDGET}",
                str(feed_max),
                feed_max <= FEED_QUERY_BUDGET,
            )
        )
        checks.append(
            (
                f"write queries per request at N={size:,} <= {WRITE_QUERY_BUDGET}",
                str(write_max),
                write_max <= WRITE_QUERY_BUDGET,
            )
        )
    return checks


def round_two_targets(data: dict, size: int) -> list[tuple[str, str, bool | None]]:
    """The absolute targets of #14 that a wrk run measures (the in-process ones: ./bench/run profile)."""
    checks: list[tuple[str, str, bool | None]] = []
    big = data["endpoints"]
    users, feed = big.get("users"), big.get("feed")
    if users:
        checks.append(
            (
                f"GET /users?starts_with= at N={size:,}: >= {USERS_RPS_TARGET} req/s on one worker",
                f"{users['rps']:.0f} req/s",
                users["rps"] >= USERS_RPS_TARGET,
            )
        )
    if users and feed:
        ratio = users["rps"] / feed["rps"]
        checks.append(
            (
                f"GET /users?starts_with= at N={size:,}: >= {USERS_TO_FEED_TARGET}x the feed page's req/s",
                f"{ratio:.2f}x ({users['rps']:.0f} vs {feed['rps']:.0f} req/s)",
                ratio >= USERS_TO_FEED_TARGET,
            )
        )
    for endpoint in WRITES:
        if endpoint in big:
            rps = big[endpoint]["rps"]
            checks.append(
                (
                    f"{endpoint} at N={size:,}: >= {WRITE_RPS_TARGET} req/s on one worker",
                    f"{rps:.0f} req/s",
                    rps >= WRITE_RPS_TARGET,
                )
            )
    scaling = data.get("scaling")
    if scaling:
        default = str(scaling["workers"][-1])
        for endpoint, by_workers in scaling["endpoints"].items():
            factor = by_workers["2"]["rps"] / by_workers["1"]["rps"]
            checks.append(
                (
                    f"{endpoint} at N={size:,}: 2 workers >= {SCALING_TARGET}x the req/s of 1",
                    f"{factor:.2f}x ({by_workers['1']['rps']:.0f} -> {by_workers['2']['rps']:.0f} req/s)",
                    factor >= SCALING_TARGET,
                )
            )
        if "users" in scaling["endpoints"]:
            rps = scaling["endpoints"]["users"][default]["rps"]
            checks.append(
                (
                    f"GET /users?starts_with= at N={size:,}: >= {USERS_ORIGINAL_RPS} req/s (the original's) "
                    f"with the default {default} workers",
                    f"{rps:.0f} req/s",
                    rps >= USERS_ORIGINAL_RPS,
                )
            )
    rss = data.get("rss")
    if rss:
        marks = list(rss["marks"].values())
        checks.append(
            (
                f"worker RSS after {marks[-1]['requests']:,} mixed requests within {RSS_GROWTH_TARGET:.0%} of "
                f"after {marks[0]['requests']:,}",
                f"{marks[0]['rss_mb']} -> {marks[-1]['rss_mb']} MB ({rss['growth']:+.1%}, "
                f"{rss['non_2xx_3xx']} non-2xx)",
                rss["growth"] <= RSS_GROWTH_TARGET,
            )
        )
    return checks


def markdown(sizes: dict[int, dict]) -> str:
    lines = [
        "| endpoint | N | req/s | p50 ms | p99 ms | ratio to floor | SQL statements (round trips) | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for endpoint, label in ENDPOINTS + QUIET_WRITES:
        for size, data in sorted(sizes.items()):
            figures = data["endpoints"].get(endpoint)
            if figures is None:
                continue
            statements = f"{figures['queries']} ({figures['round_trips']})" if "queries" in figures else "-"
            ratio = "-" if figures["ratio_to_floor"] is None else f"{figures['ratio_to_floor']:.2f}"
            lines.append(
                f"| {label} | {size:,} | {figures['rps']:.0f} | {figures['p50_ms']:.2f} | {figures['p99_ms']:.2f} | "
                f"{ratio} | {statements} | {figures['non_2xx_3xx']} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,1000000", help="comma-separated recognition counts")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=12, help="seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="the reads' interleaved rounds (duration split)")
    parser.add_argument(
        "--write-rounds", type=int, default=10, help="rounds of the writes, notifications on and off in turn"
    )
    parser.add_argument("--write-slice", type=int, default=3, help="seconds of each write slice (on or off)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per size")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--threads", type=int, default=4, help="gthread threads of the one worker")
    parser.add_argument(
        "--only",
        type=lambda value: value.split(","),
        help=f"endpoints and runs ({', '.join(RUNS)}) to run (default: all)",
    )
    parser.add_argument(
        "--scaling-endpoints",
        type=lambda value: value.split(","),
        default=SCALING_ENDPOINTS.split(","),
        help="endpoints served by 1, 2 and the default number of workers at the largest size",
    )
    parser.add_argument(
        "--rss-requests",
        type=lambda value: [int(item) for item in value.split(",")],
        default=[1_000, 100_000],
        help="after how many mixed requests the worker's RSS is read (the first and last are compared)",
    )
    parser.add_argument("--keep-databases", action="store_true")
    parser.add_argument(
        "--drain-emails", type=int, default=10_000, help="queued emails the workers drain at the largest size (0: no)"
    )
    parser.add_argument("--drain-workers", type=int, default=2)
    args = parser.parse_args()
    args.largest = max(int(value) for value in args.sizes.split(","))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package wrk); bench/run installs it when run as root")
    base_url = os.environ["DATABASE_URL"]
    with psycopg.connect(base_url, autocommit=True) as conn:
        # Seeding writes gigabytes of WAL: no checkpoint storm in the middle of it.
        conn.execute("ALTER SYSTEM SET max_wal_size = '8GB'")
        conn.execute("ALTER SYSTEM SET checkpoint_timeout = '1h'")
        conn.execute("SELECT pg_reload_conf()")
        server_version = conn.execute("SHOW server_version").fetchone()[0]
    started = datetime.now(UTC)
    workdir = ROOT / "bench" / "results" / f"work-{started:%Y%m%dT%H%M%S}"
    info = {
        "date": started.isoformat(timespec="seconds"),
        "command": "./bench/run " + " ".join(sys.argv[1:]),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout.strip(),
        "machine": machine(),
        "postgresql": server_version,
        "server": f"gunicorn, 1 worker, {args.worker_class}"
        + (f" with {args.threads} threads" if args.worker_class == "gthread" else ""),
        "load": f"wrk, 1 thread, {args.connections} connections, {args.duration} s per read endpoint "
        f"(in {args.rounds} interleaved rounds); writes in {args.write_rounds} rounds of {args.write_slice} s, "
        "notifications on and off in turn",
    }
    print(json.dumps(info, indent=2), flush=True)
    sizes = {}
    for size in (int(value) for value in args.sizes.split(",")):
        sizes[size] = bench_size(size, args, base_url, workdir)
    checks = targets(sizes)
    table = markdown(sizes)
    result = {**info, "sizes": {str(size): data for size, data in sizes.items()}, "targets": checks, "table": table}
    path = ROOT / "bench" / "results" / f"{started:%Y-%m-%dT%H%M%S}.json"
    path.write_text(json.dumps(result, indent=2))
    shutil.rmtree(workdir, ignore_errors=True)
    print("\n" + table + "\n")
    for target, measured, met in checks:
        print(f"- {'MET' if met else 'NOT MET' if met is False else '?'}: {target}: {measured}")
    print(f"\nResults: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
