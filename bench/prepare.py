"""One size of the benchmark, Django side: migrate, seed, write the load generator's request files, count
each endpoint's SQL queries in-process, and EXPLAIN ANALYZE the feed's queries.

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=... python -m bench.prepare --size N --out DIR

Prints one JSON object (also written to DIR/prepare.json).
"""

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from accounts.selectors import _MEMBER_COUNT, _MEMBER_PAGE  # noqa: E402
from accounts.tokens import token_encode  # noqa: E402
from bench.seed import FIRST_NAMES, seed  # noqa: E402
from recognitions.models import Recognition  # noqa: E402
from recognitions.selectors import _with_feed_columns, feed_keyset, recognition_feed  # noqa: E402

V1 = "application/vnd.peerly.v1"
DEEP_OFFSET = 10_000
WRITE_REQUESTS = 60_000  # more than one run can use: each Hi5 pair is used once
SCALING_HI5_REQUESTS = 60_000  # the Hi5s of the runs with 1, 2 and the default number of workers
MIXED_REQUESTS = 101_000  # the mixed run that measures the worker's memory (bench/main.py: --rss-requests)
# The request mix of that run: reads as a client's session would send them, and its writes.
MIXED_WEIGHTS = {"feed": 4, "users": 4, "feed_given_for": 2, "feed_offset": 1, "stats": 1, "create": 1, "hi5": 1}
HI5_TARGETS = (WRITE_REQUESTS + SCALING_HI5_REQUESTS + MIXED_REQUESTS) // 100 + 1
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def endpoints(
    *, info, tokens: list[str], rng: random.Random, admin_token: str = ""
) -> dict[str, list[tuple[str, str, str, str]]]:
    """name -> request lines (method, path, token, body); the load generator cycles through them."""
    org = info.organization_id
    today = timezone.now().date()  # the seeded organisation is in UTC

    def days_ago(days: int) -> str:
        return (today - timedelta(days=days)).isoformat()

    members, values = info.member_ids, info.core_value_ids
    newest = list(
        Recognition.objects.filter(organization_id=org)
        .order_by("-given_at", "-id")
        .values_list("id", flat=True)[: HI5_TARGETS + 1]
    )
    # The bench users are in no seeded recognition nor Hi5: every (user, recognition) pair is a first Hi5,
    # and the three sets of Hi5 lines (the writes, the scaling runs, the mixed run) share none.
    # The last target is kept for the in-process query count.
    targets, spare = newest[:-1], newest[-1]
    hi5_pairs = [(token, recognition_id) for recognition_id in targets for token in tokens]
    scaling_pairs = hi5_pairs[WRITE_REQUESTS : WRITE_REQUESTS + SCALING_HI5_REQUESTS]
    mixed_pairs = iter(hi5_pairs[WRITE_REQUESTS + SCALING_HI5_REQUESTS :])
    hi5_pairs = hi5_pairs[:WRITE_REQUESTS]
    prefixes = sorted({name[:2].lower() for name in FIRST_NAMES})
    # Deep pages (#14): the last page by offset, and the same page after a cursor (the 11th oldest recognition's).
    last_offset = max(info.recognitions - 10, 0)
    eleventh_oldest = (
        Recognition.objects.filter(organization_id=org, is_hidden=False)
        .order_by("given_at", "id")
        .values("given_at", "id")[min(10, info.recognitions - 1)]
    )
    deep_cursor = feed_keyset().cursor(eleventh_oldest)
    lines = {
        "floor": [("GET", f"/bench/floor?org={org}", "", "")],
        "feed": [("GET", "/recognitions", token, "") for token in tokens],
        "feed_given_for": [
            ("GET", f"/recognitions?given_for={rng.choice(members)}", rng.choice(tokens), "") for _ in range(10_000)
        ],
        "feed_offset": [("GET", f"/recognitions?offset={DEEP_OFFSET}", token, "") for token in tokens],
        "feed_last": [("GET", f"/recognitions?offset={last_offset}", token, "") for token in tokens],
        "feed_cursor": [("GET", f"/recognitions?before={deep_cursor}", token, "") for token in tokens],
        "users": [("GET", f"/users?starts_with={rng.choice(prefixes)}", rng.choice(tokens), "") for _ in range(1_000)],
        "create": [
            (
                "POST",
                "/recognitions",
                tokens[n % len(tokens)],
                json.dumps(
                    {
                        "given_for": rng.choice(members),
                        "core_value_id": rng.choice(values),
                        "text": "Thanks for the benchmark!",
                    }
                ),
            )
            for n in range(WRITE_REQUESTS)
        ],
        # The insights (#12), as an organisation admin: the last 90 days and 3 years.
        "summary_90d": [("GET", f"/insights/summary?from={days_ago(89)}", admin_token, "")],
        "summary_3y": [("GET", f"/insights/summary?from={days_ago(365 * 3 - 1)}", admin_token, "")],
        "leaderboard_90d": [("GET", f"/insights/leaderboard?from={days_ago(89)}", admin_token, "")],
        "leaderboard_3y": [("GET", f"/insights/leaderboard?from={days_ago(365 * 3 - 1)}", admin_token, "")],
        "timeline_3y": [("GET", f"/insights/timeline?from={days_ago(365 * 3 - 1)}&interval=week", admin_token, "")],
        "stats": [("GET", "/users/me/stats", token, "") for token in tokens],
        "hi5": [("POST", f"/recognitions/{recognition_id}/hi5", token, "{}") for token, recognition_id in hi5_pairs],
        "hi5_scaling": [
            ("POST", f"/recognitions/{recognition_id}/hi5", token, "{}") for token, recognition_id in scaling_pairs
        ],
        "_hi5_spare": [("POST", f"/recognitions/{spare}/hi5", tokens[0], "{}")],
    }
    lines["mixed"] = mixed_lines(lines, mixed_pairs, rng)
    return lines


def mixed_lines(
    lines: dict[str, list[tuple[str, str, str, str]]], hi5_pairs: Iterator[tuple[str, int]], rng: random.Random
) -> list[tuple[str, str, str, str]]:
    """MIXED_REQUESTS request lines drawn by MIXED_WEIGHTS from the endpoints' lines, each Hi5 a pair of
    its own (`hi5_pairs`), for the run that reads the worker's memory after many requests."""
    names = list(MIXED_WEIGHTS)
    mixed = []
    for name in rng.choices(names, weights=[MIXED_WEIGHTS[name] for name in names], k=MIXED_REQUESTS):
        pair = next(hi5_pairs, None) if name == "hi5" else None
        if pair is not None:
            token, recognition_id = pair
            mixed.append(("POST", f"/recognitions/{recognition_id}/hi5", token, "{}"))
        else:  # (a tiny seed runs out of first Hi5s: a feed read instead)
            mixed.append(rng.choice(lines[name if name != "hi5" else "feed"]))
    return mixed


def lines_cursor(line: tuple[str, str, str, str]) -> str:
    """The cursor of a `?before=` request line."""
    return line[1].split("before=", 1)[1]


def count_queries(line: tuple[str, str, str, str]) -> dict:
    """The SQL statements one request runs (after a first request has warmed every cache), and its status."""
    method, path, token, body = line
    headers = {"HTTP_ACCEPT": V1, "SERVER_NAME": "127.0.0.1"}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    client = Client(**headers)

    def send():
        if method == "GET":
            return client.get(path)
        return client.post(path, body, content_type="application/json")

    if method == "GET":
        send()
    with CaptureQueriesContext(connection) as queries:
        response = send()
    statements = [q["sql"] for q in queries if q["sql"].split(" ", 1)[0].upper() not in TRANSACTION_CONTROL]
    return {
        "queries": len(statements),  # SQL statements
        "round_trips": len(queries),  # with BEGIN and COMMIT
        "status": response.status_code,
        "sql": [q["sql"][:300] for q in queries],
    }


def explain(sql_and_params) -> str:
    sql, params = sql_and_params
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def count_of(queryset) -> tuple[str, tuple]:
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    return f"SELECT count(*) FROM ({sql}) AS counted", params  # noqa: S608 (SQL compiled by the ORM)


def count_sql(feed) -> tuple[str, tuple]:
    return count_of(feed.visible)


def scans(plan: str) -> str:
    """The plan's scans, e.g. `Seq Scan on accounts_user` or `Bitmap Index Scan on user_active_first_name_upper`."""
    found = re.findall(
        r"((?:Parallel )?(?:Seq Scan|Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)?(?: using| on) \w+)",
        plan,
    )
    return "; ".join(dict.fromkeys(found))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    migrated = time.monotonic()
    info = seed(recognitions=args.size, users=args.users)
    seeded = time.monotonic()
    bench_users = list(User.objects.filter(pk__in=info.bench_user_ids).select_related("organization"))
    tokens = [token_encode(user).token for user in bench_users]
    admin = User.objects.create(
        organization_id=info.organization_id,
        email="bench-hr@bench.example",
        first_name="Bench",
        last_name="HR",
        display_name="Bench HR",
        role_id=Role.ORG_ADMIN,
    )
    lines = endpoints(info=info, tokens=tokens, rng=random.Random(42), admin_token=token_encode(admin).token)
    for name, requests in lines.items():
        with open(args.out / f"{name}.tsv", "w") as f:
            f.writelines("\t".join(request) + "\n" for request in requests)
    queries = {
        name: count_queries(requests[0])
        for name, requests in lines.items()
        if name not in ("hi5", "hi5_scaling", "_hi5_spare", "mixed")
    }
    queries["hi5"] = count_queries(lines["_hi5_spare"][0])
    actor = bench_users[0]
    feed = recognition_feed(actor=actor)
    plans = {
        "feed_page": explain(feed.page_queryset(offset=0, limit=10).query.sql_with_params()),
        "feed_offset_page": explain(feed.page_queryset(offset=DEEP_OFFSET, limit=10).query.sql_with_params()),
        # The last page: read from the oldest end (what `?offset=N-10` runs), and after a cursor (`?before=`,
        # one row more to learn whether a page follows); then the last page read from the newest end, as before.
        "feed_last_page": explain(feed.page_queryset(offset=0, limit=10, oldest_first=True).query.sql_with_params()),
        "feed_cursor_page": explain(
            feed.page_queryset(
                offset=0, limit=11, after=feed_keyset().position(lines_cursor(lines["feed_cursor"][0]))
            ).query.sql_with_params()
        ),
        "before_last_page": explain(
            feed.page_queryset(offset=max(info.recognitions - 10, 0), limit=10).query.sql_with_params()
        ),
        "feed_given_for_page": explain(
            recognition_feed(actor=actor, given_for=[info.member_ids[0]])
            .page_queryset(offset=0, limit=10)
            .query.sql_with_params()
        ),
        "feed_given_for_count": explain(count_sql(recognition_feed(actor=actor, given_for=[info.member_ids[0]]))),
        # GET /users?starts_with=ma: the count (a page past the end), the page with its total (the name prefix
        # indexes, OR-ed).
        "users_count": explain(_MEMBER_COUNT.sql(organization_id=actor.organization_id, starts_with="ma")),
        "users_page": explain(
            _MEMBER_PAGE.sql(organization_id=actor.organization_id, starts_with="ma", offset=0, limit=10)
        ),
        # What the counters and the index-only page replace (the feed before them), for comparison.
        "before_full_count": explain(count_sql(feed)),
        "before_offset_page": explain(
            _with_feed_columns(feed.visible)
            .order_by("-given_at", "-id")[DEEP_OFFSET : DEEP_OFFSET + 10]
            .query.sql_with_params()
        ),
    }
    (args.out / "admin_token").write_text(token_encode(admin).token)
    result = {
        "size": args.size,
        "organization_id": info.organization_id,
        "recognitions": info.recognitions,
        "hi5s": info.hi5s,
        "users": args.users,
        "migrate_seconds": round(migrated - started, 1),
        "seed_seconds": round(seeded - migrated, 1),
        "queries": queries,
        "plans": plans,
    }
    (args.out / "prepare.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "plans"}))
    for name, plan in plans.items():
        timing = ", ".join(
            line.strip() for line in plan.splitlines() if line.startswith(("Planning Time", "Execution Time"))
        )
        print(f"    EXPLAIN ANALYZE {name}: {timing} [{scans(plan)}]", file=sys.stderr)


if __name__ == "__main__":
    main()
