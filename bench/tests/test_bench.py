"""Smoke test of the benchmark's pieces at a tiny size (the benchmark itself is `./bench/run`, not a test)."""

import multiprocessing
import os
import random

import pytest
from django.db.models import F, Q
from django.test import Client

from accounts.models import User
from accounts.tokens import token_encode
from bench.main import (
    SCALING_TARGET,
    USERS_ORIGINAL_RPS,
    USERS_RPS_TARGET,
    USERS_TO_FEED_TARGET,
    WRITE_RPS_TARGET,
    default_workers,
    growth,
    round_two_targets,
    split_lines,
    worker_counts,
)
from bench.prepare import MIXED_REQUESTS, count_queries, endpoints
from bench.profile import verdict, wsgi_environ
from bench.seed import BENCH_BALANCE, seed
from recognitions.models import Hi5, Recognition, RecognitionCounter

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    return seed(recognitions=100, users=40, core_values=5, bench_users=5, vacuum=False)


def test_seed_distribution(seeded):
    recognitions = Recognition.objects.filter(organization_id=seeded.organization_id)
    assert recognitions.count() == seeded.recognitions == 100
    assert Hi5.objects.count() == seeded.hi5s > 0
    assert RecognitionCounter.objects.get(
        organization_id=seeded.organization_id, core_value_id=seeded.core_value_ids[0]
    )
    assert sum(RecognitionCounter.objects.values_list("visible", flat=True)) == 100
    # nobody Hi5s their own recognition; the bench users are in no seeded recognition nor Hi5
    assert not Hi5.objects.filter(Q(given_by=F("recognition__given_by")) | Q(given_by=F("recognition__given_for")))
    kept = seeded.bench_user_ids
    assert not recognitions.filter(Q(given_by__in=kept) | Q(given_for__in=kept)).exists()
    assert not Hi5.objects.filter(given_by__in=kept).exists()
    assert set(User.objects.filter(pk__in=kept).values_list("hi5_quota_balance", flat=True)) == {BENCH_BALANCE}
    # ids grow with time, as in a table filled over the years
    ids_by_time = list(recognitions.order_by("given_at", "id").values_list("id", flat=True))
    assert ids_by_time == sorted(ids_by_time)


def test_floor_answers_the_feeds_data(seeded, client, as_user, settings):
    # given: the benchmark's URLs
    settings.ROOT_URLCONF = "bench.urls"
    member = User.objects.get(pk=seeded.member_ids[0])
    # when
    floor = client.get(f"/bench/floor?org={seeded.organization_id}&offset=10")
    feed = as_user(member).get("/recognitions?offset=10")
    # then: same items, same total
    assert floor.status_code == 200
    assert floor.json()["meta"] == feed.json()["meta"]
    assert feed.json()["meta"] | {"next": None} == {"total": 100, "limit": 10, "offset": 10, "next": None}
    assert [row["id"] for row in floor.json()["data"]] == [item["id"] for item in feed.json()["data"]]


def test_floor_is_not_mounted_by_the_normal_urls(seeded, client):
    assert client.get(f"/bench/floor?org={seeded.organization_id}").status_code == 404


def test_request_lines_and_query_counts(seeded, settings):
    settings.ROOT_URLCONF = "bench.urls"
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    users = User.objects.filter(pk__in=seeded.bench_user_ids).select_related("organization")
    tokens = [token_encode(user).token for user in users]
    lines = endpoints(info=seeded, tokens=tokens, rng=random.Random(1))
    # every Hi5 pair is a first Hi5 of that person on that recognition
    hi5_pairs = [(token, path) for _method, path, token, _body in lines["hi5"]]
    assert len(hi5_pairs) == len(set(hi5_pairs))
    names = ("floor", "feed", "feed_offset", "feed_last", "feed_cursor", "create")
    counts = {name: count_queries(lines[name][0]) for name in names}
    counts["hi5"] = count_queries(lines["_hi5_spare"][0])
    assert {name: count["status"] for name, count in counts.items()} == {
        "floor": 200,
        "feed": 200,
        "feed_offset": 200,
        "feed_last": 200,
        "feed_cursor": 200,
        "create": 201,
        "hi5": 201,
    }
    assert counts["feed"]["queries"] == counts["feed_last"]["queries"] == counts["feed_cursor"]["queries"] == 3
    # offset=10000 is past the end of 100 recognitions: answered from the total, without a page query
    assert counts["feed_offset"]["queries"] == 2
    assert counts["create"]["queries"] <= 6
    assert counts["hi5"]["queries"] <= 6


def test_the_deep_pages_are_the_last_page(seeded):
    # given: the benchmark's request lines for the last page by offset and by cursor
    member = User.objects.get(pk=seeded.member_ids[0])
    lines = endpoints(info=seeded, tokens=[token_encode(member).token], rng=random.Random(1))
    client = Client(HTTP_ACCEPT="application/vnd.peerly.v1", HTTP_AUTHORIZATION=f"Bearer {lines['feed'][0][2]}")
    # when
    last, cursor = (client.get(lines[name][0][1]).json() for name in ("feed_last", "feed_cursor"))
    # then: both are the 10 oldest recognitions, newest first, and nothing follows them
    oldest = Recognition.objects.filter(organization_id=seeded.organization_id).order_by("given_at", "id")[:10]
    expected = [recognition.pk for recognition in reversed(oldest)]
    assert [item["id"] for item in last["data"]] == [item["id"] for item in cursor["data"]] == expected
    assert last["meta"]["next"] is None
    assert cursor["meta"]["next"] is None


def test_the_writes_are_compared_round_by_round():
    from bench.main import combine, paired_ratios

    def one(requests: int, cpu: float) -> dict:
        return {
            "requests": requests,
            "seconds": 3.0,
            "loadavg_1m": 1.0,
            **dict.fromkeys(("p50_ms", "p90_ms", "p99_ms", "max_ms"), 10.0),
            **dict.fromkeys(("non_2xx_3xx", "socket_errors", "timeouts"), 0),
            "cpu_ms_per_request": cpu,
        }

    on, off = [one(270, 5.2), one(300, 5.0), one(330, 5.1)], [one(300, 4.8), one(300, 4.9), one(300, 4.7)]
    assert paired_ratios(on, off) == [0.9, 1.0, 1.1]
    assert combine(on)["rps"] == 100.0
    assert combine(on)["cpu_ms_per_request"] == 5.1  # the median slice's


def test_every_hi5_line_of_the_bench_is_a_first_hi5(seeded):
    # given: the request lines of a seed big enough for every set of Hi5 lines
    users = User.objects.filter(pk__in=seeded.bench_user_ids).select_related("organization")
    lines = endpoints(info=seeded, tokens=[token_encode(user).token for user in users], rng=random.Random(1))
    # then: the writes' Hi5s, the scaling runs' and the mixed run's never share a (person, recognition) pair
    pairs = [
        (token, path)
        for name in ("hi5", "hi5_scaling", "mixed")
        for method, path, token, _body in lines[name]
        if method == "POST" and path.endswith("/hi5")
    ]
    assert len(pairs) == len(set(pairs)) > 0
    assert len(lines["mixed"]) == MIXED_REQUESTS
    assert {path.split("?")[0] for _method, path, _token, _body in lines["mixed"]} >= {"/recognitions", "/users"}


@pytest.mark.parametrize(("cores", "workers"), [(2, 5), (16, 12)])
def test_default_workers_reads_the_formula_of_gunicorn_conf(monkeypatch, cores, workers):
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    monkeypatch.setattr(multiprocessing, "cpu_count", lambda: cores)
    assert default_workers() == workers  # 2 x cores + 1, at most 12
    assert os.environ["WEB_CONCURRENCY"] == "7"  # put back


def test_worker_counts_and_growth():
    assert worker_counts(5) == [1, 2, 5]
    assert worker_counts(2) == [1, 2]
    assert growth(100.0, 108.0) == pytest.approx(0.08)
    assert growth(100.0, 95.0) == pytest.approx(-0.05)


def test_split_lines_gives_each_slice_its_own_lines(tmp_path):
    source = tmp_path / "hi5.tsv"
    source.write_text("".join(f"line {n}\n" for n in range(10)))
    parts = split_lines(source, 3, tmp_path, "slice")
    assert [path.read_text().splitlines() for path in parts] == [
        ["line 0", "line 1", "line 2"],
        ["line 3", "line 4", "line 5"],
        ["line 6", "line 7", "line 8"],
    ]


def test_round_two_targets():
    figures = {
        "endpoints": {"users": {"rps": 600.0}, "feed": {"rps": 250.0}, "hi5": {"rps": 240.0}},
        "scaling": {
            "workers": [1, 2, 5],
            "endpoints": {"users": {"1": {"rps": 600.0}, "2": {"rps": 1080.0}, "5": {"rps": 900.0}}},
        },
        "rss": {"marks": {"1000": {"requests": 1000, "rss_mb": 90.0}}, "growth": 0.05, "non_2xx_3xx": 0},
    }
    checks = [(target, met) for target, _measured, met in round_two_targets(figures, 1_000_000)]
    assert checks == [
        (f"GET /users?starts_with= at N=1,000,000: >= {USERS_RPS_TARGET} req/s on one worker", True),
        (f"GET /users?starts_with= at N=1,000,000: >= {USERS_TO_FEED_TARGET}x the feed page's req/s", True),
        (f"hi5 at N=1,000,000: >= {WRITE_RPS_TARGET} req/s on one worker", False),
        (f"users at N=1,000,000: 2 workers >= {SCALING_TARGET}x the req/s of 1", True),  # 1.8x
        (
            f"GET /users?starts_with= at N=1,000,000: >= {USERS_ORIGINAL_RPS} req/s (the original's) with the "
            "default 5 workers",
            True,
        ),
        ("worker RSS after 1,000 mixed requests within 10% of after 1,000", True),
    ]


def test_profile_builds_the_environ_a_server_would():
    environ = wsgi_environ(("POST", "/recognitions/7/hi5?x=1", "tok", '{"a": 1}'))
    request_line = (environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["QUERY_STRING"])
    assert request_line == ("POST", "/recognitions/7/hi5", "x=1")
    assert environ["HTTP_AUTHORIZATION"] == "Bearer tok"
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"]) == ("application/json", "8")
    assert environ["wsgi.input"].read() == b'{"a": 1}'
    assert "HTTP_AUTHORIZATION" not in wsgi_environ(("GET", "/health", "", ""))
    assert verdict("feed", 2.9) == "target <= 3.0 ms: met"
    assert verdict("users", 2.1) == "target <= 2.0 ms: NOT MET"
    assert verdict("floor", 9.0) == ""
