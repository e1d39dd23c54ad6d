"""Recognitions in the admin: read-only, with their Hi5s, scoped to the organisation."""

from accounts.tests.backoffice import admin_url
from recognitions.models import Recognition


def test_the_list_is_the_organisations_with_hi5_counts(client, home, away):
    client.force_login(home.org_admin)

    response = client.get(admin_url(Recognition, "changelist"))

    rows = {recognition.pk: recognition.hi5_total for recognition in response.context["cl"].result_list}
    assert rows[home.recognition.pk] == 1
    assert away.recognition.pk not in rows
    assert "Away" not in response.content.decode()  # the core value filter offers only Home's values


def test_a_recognition_is_read_only_with_its_hi5s(client, home):
    client.force_login(home.org_admin)
    url = admin_url(Recognition, "change", home.recognition.pk)

    page = client.get(url)
    response = client.post(url, {"text": "rewritten"})

    assert page.status_code == 200
    assert "Home hi5!" in page.content.decode()
    assert page.context["has_change_permission"] is False
    assert response.status_code == 403
    home.recognition.refresh_from_db()
    assert home.recognition.text == "Home saved the launch"
