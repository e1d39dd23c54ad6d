"""The back office's Insights page (#12): organisation admins, charts as SVG with table fallbacks."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from accounts.tests.factories import UserFactory
from corevalues.tests.factories import CoreValueFactory
from recognitions.tests.factories import RecognitionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)
PAGE = "/admin/insights/"


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_org_admin_sees_tiles_charts_tops_and_exports(org_admin, organization, other_organization):
    star = UserFactory(organization=organization, display_name="Star <Receiver>")
    value = CoreValueFactory(organization=organization, text="Courage & Care")
    RecognitionFactory.create_batch(3, organization=organization, given_for=star, core_value=value, given_at=NOW)
    RecognitionFactory(organization=organization, given_at=NOW - timedelta(days=40))  # the period before
    RecognitionFactory(organization=other_organization, given_at=NOW, text="Not ours")

    page = signed_in(org_admin).get(PAGE)

    assert page.status_code == 200
    html = page.content.decode()
    assert page.context["summary"]["recognitions"] == 3
    assert [tile[0] for tile in page.context["tiles"]] == [
        "Recognitions",
        "Hi5s",
        "Givers",
        "Receivers",
        "Participation",
    ]
    assert page.context["tiles"][0][1:] == (3, "+200%")
    assert html.count('class="insights-chart"') == 2
    assert '<title id="timeline-title">Recognitions per day, 2026-05-19 to 2026-06-17</title>' in html
    assert "Courage &amp; Care: 3" in html  # escaped inside the SVG
    assert "Star &lt;Receiver&gt;" in html and "<Receiver>" not in html  # noqa: PT018
    assert "<script" not in html.split('id="content-main"')[1]  # no script: nothing for the CSP to refuse
    assert "<table" in html  # the figures as tables too
    assert page.context["receivers"][0]["user"] == star
    assert "Not ours" not in html
    assert "/admin/insights/export/?from=2026-05-19&amp;to=2026-06-17&amp;format=csv" in html


def test_the_period_picker_and_a_bad_period(org_admin, organization):
    RecognitionFactory(organization=organization, given_at=datetime(2026, 1, 15, tzinfo=UTC))
    client = signed_in(org_admin)
    picked = client.get(PAGE, {"from": "2026-01-01", "to": "2026-03-31"})
    assert picked.context["summary"]["recognitions"] == 1
    assert picked.context["interval"] == "week"
    wrong = client.get(PAGE, {"from": "2026-03-31", "to": "2026-01-01"})
    assert wrong.status_code == 200
    assert "Showing the last 30 days" in wrong.content.decode()
    for edge in ({"to": "9999-12-31"}, {"from": "0001-01-01"}, {"from": "2026-02-30"}):
        page = client.get(PAGE, edge)
        assert page.status_code == 200
        assert "Showing the last 30 days" in page.content.decode()
    assert client.get(PAGE, {"org_id": "²"}).status_code == 200  # not a number: the admin's own organisation


def test_the_export_buttons_download_the_period(org_admin, organization):
    recognition = RecognitionFactory(organization=organization, given_at=NOW, text="=1+1")
    response = signed_in(org_admin).get("/admin/insights/export/", {"from": "2026-06-17", "to": "2026-06-17"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode()[1:])))
    assert [(row[0], row[7]) for row in rows[1:]] == [(str(recognition.pk), "'=1+1")]
    xlsx = signed_in(org_admin).get("/admin/insights/export/", {"format": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert signed_in(org_admin).get("/admin/insights/export/", {"format": "pdf"}).status_code == 400


def test_a_super_admin_picks_the_organisation(super_admin, organization, other_organization):
    RecognitionFactory(organization=other_organization, given_at=NOW)
    client = signed_in(super_admin)
    assert "Pick an organisation" in client.get(PAGE).content.decode()
    page = client.get(PAGE, {"org_id": other_organization.pk})
    assert page.context["organization"] == other_organization
    assert page.context["summary"]["recognitions"] == 1
    assert f"org_id={other_organization.pk}" in page.context["query"]


def test_a_moderator_or_an_employee_does_not_see_it(moderator, employee, org_admin):
    assert signed_in(moderator).get(PAGE).status_code == 403
    assert signed_in(moderator).get("/admin/insights/export/").status_code == 403
    index = signed_in(moderator).get("/admin/")
    assert "Insights" not in {app["name"] for app in index.context["app_list"]}
    assert signed_in(employee).get(PAGE).status_code == 302  # not staff: the login page
    assert Client().get(PAGE).status_code == 302
    admin_index = signed_in(org_admin).get("/admin/")
    assert admin_index.context["app_list"][0]["name"] == "Insights"
