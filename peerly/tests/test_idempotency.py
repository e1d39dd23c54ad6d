"""Idempotency-Key on POST /recognitions and POST /recognitions/:id/hi5 (peerly/api/idempotency.py)."""

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import OrganizationFactory, UserFactory
from conftest import client_for
from corevalues.tests.factories import CoreValueFactory
from peerly.models import IdempotencyRecord
from peerly.services import idempotency_records_purge
from recognitions import services
from recognitions.models import Hi5, Recognition
from recognitions.tests.factories import NO_PASSWORD, RecognitionFactory
from tests.concurrency import run_together as _run_together

KEY = "3f1c7f36-2f43-4c0e-9d84-0f6b1f9b2a51"


def balance(user: User) -> int:
    return User.objects.values_list("hi5_quota_balance", flat=True).get(pk=user.pk)


def post(client, path: str, body: dict | None = None, *, key: str | None = KEY):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(path, body, format="json", **headers)


def replayed(response) -> bool:
    return response.headers.get("Idempotent-Replayed") == "true"


@pytest.fixture
def giver(organization):
    return UserFactory(organization=organization, hi5_quota_balance=5, password=NO_PASSWORD)


@pytest.fixture
def payload(organization):
    receiver = UserFactory(organization=organization, password=NO_PASSWORD)
    core_value = CoreValueFactory(organization=organization)
    return {"given_for": receiver.pk, "core_value_id": core_value.pk, "text": "Thanks for the review"}


@pytest.fixture
def recognition(organization):
    return RecognitionFactory(organization=organization)


@pytest.mark.django_db
class TestReplay:
    def test_a_retried_recognition_gets_the_first_answer_and_spends_once(self, giver, payload):
        # given
        client = client_for(giver)
        first = post(client, "/recognitions", payload)

        # when
        retry = post(client, "/recognitions", payload)

        # then: the same status and bytes, marked as a replay; one recognition, one Hi5 spent
        assert first.status_code == 201
        assert not replayed(first)
        assert retry.status_code == 201
        assert replayed(retry)
        assert retry.content == first.content
        assert Recognition.objects.filter(given_by=giver).count() == 1
        assert balance(giver) == 4

    def test_a_retried_hi5_gets_the_first_answer_and_spends_once(self, giver, recognition):
        client = client_for(giver)
        first = post(client, f"/recognitions/{recognition.pk}/hi5", {"comment": "Well deserved"})
        retry = post(client, f"/recognitions/{recognition.pk}/hi5", {"comment": "Well deserved"})

        assert first.status_code == 201
        assert (retry.status_code, retry.content, replayed(retry)) == (201, first.content, True)
        assert Hi5.objects.filter(given_by=giver).count() == 1
        assert balance(giver) == 4

    def test_key_order_spacing_and_a_trailing_slash_are_the_same_request(self, giver, payload):
        client = client_for(giver)
        first = post(client, "/recognitions", payload)
        reordered = dict(reversed(list(payload.items())))
        retry = client.post(
            "/recognitions/", data=f"{reordered}".replace("'", '"'), content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=KEY,
        )  # fmt: skip

        assert (retry.status_code, retry.content, replayed(retry)) == (201, first.content, True)
        assert balance(giver) == 4

    def test_the_versioned_accept_gets_the_same_replay(self, giver, payload):
        first = post(client_for(giver), "/recognitions", payload)
        retry = client_for(giver).post(
            "/recognitions", payload, format="json", HTTP_ACCEPT="application/json", HTTP_IDEMPOTENCY_KEY=KEY
        )
        assert (retry.status_code, retry.json(), replayed(retry)) == (201, first.json(), True)

    def test_the_same_key_with_another_body_is_refused(self, giver, payload):
        client = client_for(giver)
        post(client, "/recognitions", payload)

        response = post(client, "/recognitions", {**payload, "text": "Something else"})

        assert response.status_code == 422
        assert response.json() == {
            "error": {
                "code": "idempotency_key_reused",
                "message": "This Idempotency-Key was used with another request body",
            }
        }
        assert not replayed(response)
        assert balance(giver) == 4

    def test_the_same_key_on_another_endpoint_or_object_is_refused(self, giver, payload, organization):
        # given: a key used for a Hi5 on one recognition
        client = client_for(giver)
        one, other = RecognitionFactory.create_batch(2, organization=organization)
        post(client, f"/recognitions/{one.pk}/hi5", {})

        # when: reused for another recognition, then for a recognition of its own
        on_other = post(client, f"/recognitions/{other.pk}/hi5", {})
        on_create = post(client, "/recognitions", payload)

        # then
        for response in (on_other, on_create):
            assert response.status_code == 422
            assert response.json() == {
                "error": {
                    "code": "idempotency_key_reused",
                    "message": f"This Idempotency-Key was used for POST /recognitions/{one.pk}/hi5",
                }
            }
        assert balance(giver) == 4

    def test_keys_belong_to_their_user(self, giver, payload, organization):
        someone = UserFactory(organization=organization, hi5_quota_balance=5, password=NO_PASSWORD)

        mine = post(client_for(giver), "/recognitions", payload)
        theirs = post(client_for(someone), "/recognitions", payload)

        assert (mine.status_code, theirs.status_code) == (201, 201)
        assert not replayed(theirs)
        assert mine.json()["data"]["id"] != theirs.json()["data"]["id"]
        assert (balance(giver), balance(someone)) == (4, 4)

    def test_an_expired_key_runs_again(self, giver, payload, settings):
        # given: the key's first answer has just expired
        client = client_for(giver)
        first = post(client, "/recognitions", payload)
        IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

        # when
        again = post(client, "/recognitions", {**payload, "text": "Another body is fine now"})

        # then: a new recognition, and the key now replays the new answer for the next 24 h
        assert again.status_code == 201
        assert not replayed(again)
        assert again.json()["data"]["id"] != first.json()["data"]["id"]
        assert balance(giver) == 3
        record = IdempotencyRecord.objects.get()
        assert record.expires_at - record.created_at == timedelta(seconds=settings.PEERLY_IDEMPOTENCY_TTL_SECONDS)
        assert post(client, "/recognitions", {**payload, "text": "Another body is fine now"}).content == again.content

    def test_the_ttl_is_a_setting(self, giver, payload, settings):
        settings.PEERLY_IDEMPOTENCY_TTL_SECONDS = 60
        post(client_for(giver), "/recognitions", payload)
        record = IdempotencyRecord.objects.get()
        assert record.expires_at - record.created_at == timedelta(seconds=60)

    @pytest.mark.parametrize(
        "key",
        ["", " ", "a" * 256, "clé", "tab\tinside", " leading-space", "trailing-space ", "new\x7fline"],
        ids=["empty", "blank", "256-chars", "non-ascii", "tab", "leading-space", "trailing-space", "DEL"],
    )
    def test_an_invalid_key_is_refused_and_nothing_happens(self, giver, payload, key):
        response = post(client_for(giver), "/recognitions", payload, key=key)

        assert response.status_code == 400
        assert response.json() == {
            "error": {
                "code": "invalid_data",
                "message": "Please provide valid data",
                "fields": {"Idempotency-Key": "Must be 1 to 255 printable ASCII characters (a UUID is a good key)"},
            }
        }
        assert balance(giver) == 5
        assert not IdempotencyRecord.objects.exists()

    @pytest.mark.parametrize("key", ["k", "a" * 255, "~!@#$%^&*()_+{}|:<>? with spaces inside"])
    def test_any_1_to_255_printable_ascii_characters_are_a_key(self, giver, payload, key):
        client = client_for(giver)
        assert post(client, "/recognitions", payload, key=key).status_code == 201
        assert replayed(post(client, "/recognitions", payload, key=key))
        assert IdempotencyRecord.objects.get().key == key

    def test_without_the_header_nothing_changes(self, giver, payload, recognition):
        client = client_for(giver)
        for _ in range(2):
            assert post(client, "/recognitions", payload, key=None).status_code == 201
        assert post(client, f"/recognitions/{recognition.pk}/hi5", key=None).status_code == 201

        assert Recognition.objects.filter(given_by=giver).count() == 2
        assert balance(giver) == 2
        assert not IdempotencyRecord.objects.exists()

    def test_a_get_ignores_the_header(self, giver, recognition):
        response = client_for(giver).get(f"/recognitions/{recognition.pk}/hi5", HTTP_IDEMPOTENCY_KEY="")
        assert response.status_code == 200
        assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
class TestFailures:
    def test_a_business_error_is_stored_and_replayed(self, giver, payload):
        # given: an empty balance refuses the first attempt
        User.objects.filter(pk=giver.pk).update(hi5_quota_balance=0)
        client = client_for(giver)
        refused = post(client, "/recognitions", payload)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "insufficient_hi5_balance"

        # when: the balance is renewed and the same attempt is retried
        User.objects.filter(pk=giver.pk).update(hi5_quota_balance=5)
        retry = post(client, "/recognitions", payload)

        # then: the key names that attempt, which was refused; a new key is a new attempt
        assert (retry.status_code, retry.content, replayed(retry)) == (400, refused.content, True)
        assert balance(giver) == 5
        assert post(client, "/recognitions", payload, key="a-new-attempt").status_code == 201
        assert balance(giver) == 4

    @pytest.mark.parametrize(("given_for", "status"), [(999_999, 400), ("giver", 422)], ids=["invalid", "rule"])
    def test_validation_and_rule_errors_are_stored_too(self, giver, payload, given_for, status):
        client = client_for(giver)
        body = {**payload, "given_for": giver.pk if given_for == "giver" else given_for}
        refused = post(client, "/recognitions", body)
        assert refused.status_code == status
        retry = post(client, "/recognitions", body)
        assert (retry.status_code, retry.content, replayed(retry)) == (status, refused.content, True)

    def test_a_server_error_is_not_stored_so_the_retry_runs(self, giver, payload, monkeypatch):
        # given: the first attempt crashes after spending
        def crash(**kwargs):
            services.recognition_create(**kwargs)
            raise RuntimeError("the disk is on fire")

        client = client_for(giver)
        monkeypatch.setattr("recognitions.views.services.recognition_create", crash)
        failed = post(client, "/recognitions", payload)
        assert failed.status_code == 500
        assert failed.json()["error"]["code"] == "internal_error"

        # then: neither the spend nor the key was kept
        assert balance(giver) == 5
        assert not Recognition.objects.exists()
        assert not IdempotencyRecord.objects.exists()

        # when: the retry runs with the service healthy again
        monkeypatch.undo()
        retry = post(client, "/recognitions", payload)
        assert (retry.status_code, replayed(retry)) == (201, False)
        assert balance(giver) == 4


@pytest.mark.django_db
class TestPurgeAndSchema:
    def test_the_purge_deletes_only_expired_keys(self, giver, payload, capsys):
        # given: two keys, one expired
        client = client_for(giver)
        post(client, "/recognitions", payload, key="old")
        post(client, "/recognitions", payload, key="fresh")
        IdempotencyRecord.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(minutes=1))

        # when
        call_command("purge_idempotency_keys")

        # then
        assert capsys.readouterr().out == "Purged 1 expired idempotency key(s)\n"
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
        assert idempotency_records_purge(now=timezone.now() + timedelta(days=2)) == 1

    def test_the_schema_declares_the_header_on_the_two_posts_only(self, api_client):
        schema = api_client.get("/api/schema", HTTP_ACCEPT="application/json").json()
        declared = {
            (method, path): operation
            for path, item in schema["paths"].items()
            for method, operation in item.items()
            if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
        }
        assert set(declared) == {("post", "/recognitions"), ("post", "/recognitions/{id}/hi5")}
        for operation in declared.values():
            header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
            assert header["in"] == "header"
            assert header.get("required", False) is False
            assert {"409", "422"} <= set(operation["responses"])


# --- Concurrency: real threads on PostgreSQL ------------------------------------

THREADS = 10


def run_together(work: Callable[[int], object], threads: int = THREADS) -> list:
    return _run_together(work, threads)


@pytest.fixture
def racing_giver(db):
    organization = OrganizationFactory(hi5_limit=5)
    return UserFactory(organization=organization, hi5_quota_balance=5, password=NO_PASSWORD)


def assert_one_execution_and_replays(results: list) -> bytes:
    """Every thread got the first answer (one ran it, the others replayed it), never an error."""
    assert all(isinstance(result, tuple) for result in results), results
    assert {status for status, _, _ in results} == {201}
    assert len({content for _, content, _ in results}) == 1
    assert Counter(was_replayed for _, _, was_replayed in results) == {False: 1, True: THREADS - 1}
    return results[0][1]


@pytest.mark.django_db(transaction=True)
def test_10_threads_retrying_one_recognition_spend_once(racing_giver):
    # given
    organization = racing_giver.organization
    receiver = UserFactory(organization=organization, password=NO_PASSWORD)
    core_value = CoreValueFactory(organization=organization)
    payload = {"given_for": receiver.pk, "core_value_id": core_value.pk, "text": "Retried ten times"}

    # when: the same request with the same key, 10 times at once
    def call(index: int):
        response = post(client_for(racing_giver), "/recognitions", payload)
        return response.status_code, response.content, replayed(response)

    results = run_together(call)

    # then
    assert_one_execution_and_replays(results)
    assert Recognition.objects.filter(given_by=racing_giver).count() == 1
    assert balance(racing_giver) == 4
    assert IdempotencyRecord.objects.filter(user=racing_giver, key=KEY, status_code=201).count() == 1


@pytest.mark.django_db(transaction=True)
def test_10_threads_retrying_one_hi5_spend_once(racing_giver):
    recognition = RecognitionFactory(organization=racing_giver.organization)

    def call(index: int):
        response = post(client_for(racing_giver), f"/recognitions/{recognition.pk}/hi5", {"comment": "Yes!"})
        return response.status_code, response.content, replayed(response)

    results = run_together(call)

    assert_one_execution_and_replays(results)
    assert Hi5.objects.filter(given_by=racing_giver).count() == 1
    assert balance(racing_giver) == 4


@pytest.mark.django_db(transaction=True)
def test_a_retry_waits_for_the_first_request_then_answers_409_in_progress(racing_giver, settings):
    # given: the first request with the key is still running (its transaction holds the claim)
    settings.PEERLY_IDEMPOTENCY_WAIT_SECONDS = 0.3
    organization = racing_giver.organization
    receiver = UserFactory(organization=organization, password=NO_PASSWORD)
    core_value = CoreValueFactory(organization=organization)
    payload = {"given_for": receiver.pk, "core_value_id": core_value.pk, "text": "Slow first attempt"}
    claimed, release = threading.Event(), threading.Event()

    def first_request_running() -> None:
        try:
            with transaction.atomic():
                now = timezone.now()
                IdempotencyRecord.objects.create(
                    user=racing_giver, key=KEY, request_target="POST /recognitions", request_fingerprint="x",
                    created_at=now, expires_at=now + timedelta(days=1),
                )  # fmt: skip
                claimed.set()
                release.wait(timeout=30)
                transaction.set_rollback(True)  # then it fails with a 5xx: nothing kept
        finally:
            connection.close()

    holder = threading.Thread(target=first_request_running)
    holder.start()
    try:
        assert claimed.wait(timeout=10)

        # when: the retry arrives meanwhile
        waiting = post(client_for(racing_giver), "/recognitions", payload)
    finally:
        release.set()
        holder.join(timeout=30)

    # then: 409 after the wait, nothing spent; once the first one has ended, the retry runs
    assert waiting.status_code == 409
    assert waiting.json() == {
        "error": {
            "code": "idempotency_in_progress",
            "message": "The first request with this Idempotency-Key is still running; retry in a moment",
        }
    }
    assert balance(racing_giver) == 5
    retry = post(client_for(racing_giver), "/recognitions", payload)
    assert (retry.status_code, replayed(retry)) == (201, False)
    assert balance(racing_giver) == 4
