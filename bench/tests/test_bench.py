"""Smoke test of the benchmark's pieces at a tiny size (the benchmark itself is `./bench/run`, not a test)."""

import random

import pytest
from django.db.models import F, Q
from django.test import Client

from accounts.models import User
from accounts.tokens import token_encode
from bench.prepare import count_queries, endpoints
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
