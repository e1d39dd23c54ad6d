"""What API keys may do on recognitions, core values and moderation: read within scope, never act."""

import pytest

from accounts.tests.factories import UserFactory
from corevalues.tests.factories import CoreValueFactory
from moderation.models import Report, Review
from recognitions.models import Hi5, Recognition
from recognitions.tests.factories import RecognitionFactory

pytestmark = pytest.mark.django_db


def error(response) -> dict:
    return response.json()["error"]


@pytest.fixture
def recognition(organization):
    return RecognitionFactory(organization=organization)


@pytest.fixture
def foreign_recognition(other_organization):
    return RecognitionFactory(organization=other_organization)


class TestRecognitionsRead:
    def test_feed_and_detail_within_scope(self, as_key, make_key, recognition, foreign_recognition):
        _, secret = make_key(scopes=["recognitions:read"])
        client = as_key(secret)
        feed = client.get("/recognitions")
        assert feed.status_code == 200
        assert [item["id"] for item in feed.json()["data"]] == [recognition.pk]
        assert client.get(f"/recognitions/{recognition.pk}").json()["data"]["id"] == recognition.pk

    def test_another_organisations_recognition_is_404(self, as_key, make_key, foreign_recognition):
        _, secret = make_key(scopes=["recognitions:read"])
        response = as_key(secret).get(f"/recognitions/{foreign_recognition.pk}")
        assert (response.status_code, error(response)["code"]) == (404, "not_found")

    def test_hidden_recognition_is_not_readable_by_keys(self, as_key, make_key, organization):
        hidden = RecognitionFactory(organization=organization, is_hidden=True)
        _, secret = make_key(scopes=["recognitions:read"])
        assert as_key(secret).get(f"/recognitions/{hidden.pk}").status_code == 404

    def test_without_scope_is_403(self, as_key, make_key, recognition):
        _, secret = make_key(scopes=["users:read", "core_values:read"])
        for path in ("/recognitions", f"/recognitions/{recognition.pk}"):
            response = as_key(secret).get(path)
            assert (response.status_code, error(response)["code"]) == (403, "access_denied")


class TestCoreValuesRead:
    def test_list_and_detail_within_scope(self, as_key, make_key, organization, other_organization):
        value = CoreValueFactory(organization=organization)
        foreign = CoreValueFactory(organization=other_organization)
        _, secret = make_key(scopes=["core_values:read"])
        client = as_key(secret)
        assert [item["id"] for item in client.get("/core_values").json()["data"]] == [value.pk]
        assert client.get(f"/core_values/{value.pk}").json()["data"]["id"] == value.pk
        assert client.get(f"/core_values/{foreign.pk}").status_code == 404

    def test_without_scope_is_403(self, as_key, make_key, organization):
        _, secret = make_key(scopes=["recognitions:read"])
        assert as_key(secret).get("/core_values").status_code == 403

    def test_keys_cannot_write_core_values(self, as_key, make_key, organization):
        value = CoreValueFactory(organization=organization)
        _, secret = make_key(scopes=["core_values:read"])
        client = as_key(secret)
        assert client.post("/core_values", {"text": "New", "description": "d"}, format="json").status_code == 403
        response = client.put(f"/core_values/{value.pk}", {"text": "Changed", "description": "d"}, format="json")
        assert response.status_code == 403
        value.refresh_from_db()
        assert value.text != "Changed"


class TestKeysNeverActLikePeople:
    """Giving, Hi5s, reports and reviews are people's acts: no key, whatever its scopes, can do them."""

    @pytest.fixture
    def all_scopes_key(self, make_key):
        _, secret = make_key(scopes=["users:read", "users:sync", "recognitions:read", "core_values:read"])
        return secret

    def test_cannot_give_a_recognition(self, as_key, all_scopes_key, organization):
        receiver = UserFactory(organization=organization)
        value = CoreValueFactory(organization=organization)
        body = {"given_for": receiver.pk, "core_value_id": value.pk, "text": "Thanks"}
        response = as_key(all_scopes_key).post("/recognitions", body, format="json")
        assert (response.status_code, error(response)["code"]) == (403, "access_denied")
        assert not Recognition.objects.exists()

    @pytest.mark.parametrize(
        ("suffix", "body", "model"),
        [
            ("hi5", {"comment": "yes"}, Hi5),
            ("report", {"mark_as": "fraud", "reason": "x"}, Report),
            ("review", {"is_inappropriate": True}, Review),
        ],
    )
    def test_cannot_hi5_report_or_review(self, as_key, all_scopes_key, recognition, suffix, body, model):
        response = as_key(all_scopes_key).post(f"/recognitions/{recognition.pk}/{suffix}", body, format="json")
        assert (response.status_code, error(response)["code"]) == (403, "access_denied")
        assert not model.objects.exists()
        recognition.refresh_from_db()
        assert not recognition.is_hidden

    def test_cannot_read_reports_queue_or_hi5_list(self, as_key, all_scopes_key, recognition):
        for path in ("/reports", f"/recognitions/{recognition.pk}/hi5"):
            assert as_key(all_scopes_key).get(path).status_code == 403
