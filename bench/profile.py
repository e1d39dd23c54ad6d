"""Where a feed request's time goes, in-process (no HTTP server): `./bench/run profile [--size N]`.

Seeds a fresh database, then times the floor and the feed alternately through Django's test client, and
profiles both with cProfile, printing the packages whose own time differs most: what the API costs above the
floor. Times are per request; cProfile inflates Python-heavy code, so read its column as proportions.
"""

import argparse
import collections
import cProfile
import os
import pstats
import time

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.tokens import token_encode  # noqa: E402
from bench.seed import seed  # noqa: E402


def package(filename: str, function: str) -> str:
    if "site-packages/" in filename:
        parts = filename.split("site-packages/")[1].split("/")
        return "/".join(parts[:2]) if parts[0] == "django" else parts[0]
    if filename.startswith(os.getcwd()):
        return filename[len(os.getcwd()) + 1 :]
    return "python: " + (function if filename == "~" else filename.rsplit("/", 1)[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'recognitions_recognition'")
        if cursor.fetchone()[0]:
            raise SystemExit("run on an empty database (./bench/run profile does)")
    call_command("migrate", verbosity=0)
    info = seed(recognitions=args.size)
    user = User.objects.select_related("organization").get(pk=info.bench_user_ids[0])
    client = Client(
        SERVER_NAME="127.0.0.1",
        HTTP_ACCEPT="application/vnd.peerly.v1",
        HTTP_AUTHORIZATION=f"Bearer {token_encode(user).token}",
    )
    paths = {"floor": f"/bench/floor?org={info.organization_id}", "feed": "/recognitions"}
    spent = dict.fromkeys(paths, 0.0)
    for _ in range(50):
        for path in paths.values():
            client.get(path)
    rounds = 10
    for _ in range(rounds):
        for name, path in paths.items():
            started = time.perf_counter()
            for _ in range(args.requests // rounds):
                client.get(path)
            spent[name] += time.perf_counter() - started
    per_request = {name: seconds / args.requests * 1000 for name, seconds in spent.items()}
    print(f"N = {args.size:,}, in-process, {args.requests} requests each, interleaved:")
    for name, ms in per_request.items():
        print(f"  {name:6} {ms:6.2f} ms per request")
    print(f"  floor/feed: {per_request['floor'] / per_request['feed']:.2f}")
    own_time = {}
    for name, path in paths.items():
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            client.get(path)
        profile.disable()
        totals: collections.Counter = collections.Counter()
        for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in pstats.Stats(profile).stats.items():
            totals[package(filename, function)] += tottime / args.requests * 1000
        own_time[name] = totals
    print("\ncProfile, own time per request (ms), largest differences feed - floor:")
    print(f"  {'where':58} {'floor':>7} {'feed':>7} {'diff':>7}")
    keys = set(own_time["floor"]) | set(own_time["feed"])
    for key in sorted(keys, key=lambda k: own_time["floor"][k] - own_time["feed"][k])[:15]:
        floor, feed = own_time["floor"][key], own_time["feed"][key]
        print(f"  {key[:58]:58} {floor:7.3f} {feed:7.3f} {feed - floor:7.3f}")
    print(f"  {'total':58} {sum(own_time['floor'].values()):7.3f} {sum(own_time['feed'].values()):7.3f}")


if __name__ == "__main__":
    main()
