"""Races on real PostgreSQL connections: 20 threads, one balance of 5, no double spend, no 500."""

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from accounts.models import User
from accounts.tests.factories import OrganizationFactory, UserFactory
from conftest import client_for
from corevalues.tests.factories import CoreValueFactory
from moderation.services import review_create
from recognitions.errors import AlreadyHi5, InsufficientHi5Balance, RecognitionHidden
from recognitions.models import Hi5, QuotaRenewal, Recognition
from recognitions.services import hi5_give, hi5_quotas_renew, recognition_create
from recognitions.tests.factories import NO_PASSWORD, RecognitionFactory
from tests.concurrency import run_together as _run_together

THREADS = 20

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(work: Callable[[int], object], threads: int = THREADS) -> list:
    return _run_together(work, threads)


def balance(user: User) -> int:
    return User.objects.values_list("hi5_quota_balance", flat=True).get(pk=user.pk)


@pytest.fixture
def organization():
    return OrganizationFactory(hi5_limit=5)


@pytest.fixture
def giver(organization):
    return UserFactory(organization=organization, hi5_quota_balance=5, password=NO_PASSWORD)


def test_service_spends_a_balance_of_5_exactly_5_times(organization, giver):
    # given
    receiver = UserFactory(organization=organization, password=NO_PASSWORD)
    core_value = CoreValueFactory(organization=organization)

    # when: 20 recognitions at once from a balance of 5
    def give(index: int):
        actor = User.objects.select_related("organization").get(pk=giver.pk)
        return recognition_create(actor=actor, given_for=receiver.pk, core_value_id=core_value.pk, text=f"#{index}")

    results = run_together(give)

    # then
    assert sum(isinstance(result, Recognition) for result in results) == 5
    assert sum(isinstance(result, InsufficientHi5Balance) for result in results) == 15
    assert balance(giver) == 0
    assert Recognition.objects.filter(given_by=giver).count() == 5


def test_api_spends_a_balance_of_5_exactly_5_times_across_recognitions_and_hi5s(organization, giver):
    # given: half the threads recognise, half give Hi5s to distinct recognitions of others
    receiver = UserFactory(organization=organization, password=NO_PASSWORD)
    core_value = CoreValueFactory(organization=organization, text="Teamwork")
    someone = UserFactory(organization=organization, password=NO_PASSWORD)
    targets = RecognitionFactory.create_batch(
        THREADS // 2, organization=organization, core_value=core_value, given_by=receiver, given_for=someone
    )

    def call(index: int):
        client = client_for(giver)
        if index % 2:
            payload = {"given_for": receiver.pk, "core_value_id": core_value.pk, "text": f"#{index}"}
            response = client.post("/recognitions", payload, format="json")
        else:
            response = client.post(f"/recognitions/{targets[index // 2].pk}/hi5", format="json")
        return response.status_code, response.json().get("error", {}).get("code")

    # when
    results = run_together(call)

    # then: exactly 5 created, the others refused cleanly, never a 500
    assert all(isinstance(result, tuple) for result in results), results
    assert Counter(status for status, _ in results) == {201: 5, 400: 15}
    assert {code for status, code in results if status == 400} == {"insufficient_hi5_balance"}
    assert balance(giver) == 0
    spent = Recognition.objects.filter(given_by=giver).count() + Hi5.objects.filter(given_by=giver).count()
    assert spent == 5


def test_concurrent_duplicate_hi5_succeeds_once_and_spends_once(organization, giver):
    # given
    recognition = RecognitionFactory(organization=organization)

    # when: the same person Hi5s the same recognition from 20 threads at once
    def call(index: int):
        response = client_for(giver).post(f"/recognitions/{recognition.pk}/hi5", format="json")
        return response.status_code, response.json().get("error", {}).get("code")

    results = run_together(call)

    # then
    assert Counter(results) == {(201, None): 1, (409, "already_hi5"): THREADS - 1}
    assert Hi5.objects.filter(recognition=recognition).count() == 1
    assert balance(giver) == 4


def test_concurrent_duplicate_hi5_through_the_service(organization, giver):
    recognition = RecognitionFactory(organization=organization)

    def give(index: int):
        return hi5_give(actor=User.objects.get(pk=giver.pk), recognition=recognition)

    results = run_together(give)
    assert sum(isinstance(result, Hi5) for result in results) == 1
    assert sum(isinstance(result, AlreadyHi5) for result in results) == THREADS - 1
    assert balance(giver) == 4


def test_concurrent_renewals_renew_once(organization, giver):
    # given: a spent balance
    User.objects.filter(pk=giver.pk).update(hi5_quota_balance=1)

    # when: the command runs on several machines at the same moment
    results = run_together(lambda index: hi5_quotas_renew(), threads=5)

    # then: one run renewed, the others found it done; nothing failed
    assert not [result for result in results if isinstance(result, Exception)]
    renewed = [outcome for result in results for outcome in result if outcome.renewed]
    assert len(renewed) == 1
    assert QuotaRenewal.objects.filter(organization=organization).count() == 1
    assert balance(giver) == 5


# --- Hi5s against a concurrent hide ---------------------------------------------------------------


@pytest.fixture
def reviewer(organization):
    return UserFactory(organization=organization, moderator=True, password=NO_PASSWORD)


def test_a_stale_copy_takes_no_hi5_after_a_committed_hide(organization, giver, reviewer):
    # given a Hi5 giver holding the recognition as it was before a moderator hid it
    recognition = RecognitionFactory(organization=organization)
    stale = Recognition.objects.get(pk=recognition.pk)
    review_create(actor=reviewer, recognition=Recognition.objects.get(pk=recognition.pk), is_inappropriate=True)
    assert stale.is_hidden is False

    # when
    with pytest.raises(RecognitionHidden):
        hi5_give(actor=User.objects.get(pk=giver.pk), recognition=stale)

    # then nothing was given, nothing spent
    assert Hi5.objects.filter(recognition=recognition).count() == 0
    assert balance(giver) == 5


def test_a_hi5_waits_for_a_hide_in_progress_then_is_refused(organization, giver, reviewer):
    # given a review hiding the recognition, not yet committed, and a giver who read it before
    recognition = RecognitionFactory(organization=organization)
    stale = Recognition.objects.get(pk=recognition.pk)
    hidden = threading.Event()
    outcome: dict = {}

    def review() -> None:
        try:
            with transaction.atomic():
                review_create(
                    actor=reviewer, recognition=Recognition.objects.get(pk=recognition.pk), is_inappropriate=True
                )
                hidden.set()
                time.sleep(0.5)  # the Hi5 below runs now, against the locked row
        finally:
            hidden.set()
            connection.close()

    def give() -> None:
        hidden.wait(10)
        try:
            outcome["hi5"] = hi5_give(actor=User.objects.get(pk=giver.pk), recognition=stale)
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=review), threading.Thread(target=give)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then the Hi5 waited for the hide and was refused
    assert isinstance(outcome.get("error"), RecognitionHidden), outcome
    assert Hi5.objects.filter(recognition=recognition).count() == 0
    assert balance(giver) == 5


def test_hi5s_racing_a_hide_never_land_after_it(organization, reviewer):
    # given 10 givers and a recognition
    recognition = RecognitionFactory(organization=organization)
    givers = UserFactory.create_batch(
        THREADS // 2, organization=organization, hi5_quota_balance=5, password=NO_PASSWORD
    )
    stale = Recognition.objects.get(pk=recognition.pk)

    # when a review hides it while they give Hi5s, all from a copy read before
    def act(index: int):
        if index == 0:
            review_create(actor=reviewer, recognition=Recognition.objects.get(pk=recognition.pk), is_inappropriate=True)
            # Counted right after the hide committed: nothing may be added afterwards.
            return Hi5.objects.filter(recognition=recognition).count()
        return hi5_give(actor=User.objects.get(pk=givers[index - 1].pk), recognition=stale)

    results = run_together(act, threads=len(givers) + 1)

    # then every Hi5 committed before the hide; the others were refused, their balance intact
    hi5s_at_hide, outcomes = results[0], results[1:]
    assert isinstance(hi5s_at_hide, int), results
    assert all(isinstance(result, Hi5 | RecognitionHidden) for result in outcomes), outcomes
    given = [giver for giver, result in zip(givers, outcomes, strict=True) if isinstance(result, Hi5)]
    assert Hi5.objects.filter(recognition=recognition).count() == hi5s_at_hide == len(given)
    assert {giver.pk: balance(giver) for giver in givers} == {giver.pk: 4 if giver in given else 5 for giver in givers}
