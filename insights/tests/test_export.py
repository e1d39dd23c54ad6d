"""GET /recognitions/export (#12): a period's recognitions as streamed CSV or XLSX, read back here."""

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import OrganizationFactory, UserFactory
from corevalues.tests.factories import CoreValueFactory
from insights import export
from insights.periods import period_of
from insights.views import XLSX
from recognitions.models import Hi5, Recognition
from recognitions.tests.factories import RecognitionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def csv_rows(response) -> list[list[str]]:
    assert response.streaming  # written as the cursor reads, never held whole
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")  # Excel reads UTF-8
    return list(csv.reader(io.StringIO(content[1:])))


def xlsx_rows(response) -> list[tuple]:
    assert response["Content-Type"] == XLSX
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return list(workbook["Recognitions"].iter_rows(values_only=True))


def get(client, **params):
    return client.get("/recognitions/export", params)


@pytest.fixture
def many(organization):
    """3,000 recognitions over the last 20 days, some hidden, some with Hi5s."""
    rng = random.Random(7)
    people = UserFactory.create_batch(12, organization=organization)
    values = CoreValueFactory.create_batch(4, organization=organization)
    recognitions = []
    for n in range(3000):
        giver, receiver = rng.sample(people, 2)
        recognitions.append(
            Recognition(
                organization=organization,
                core_value=rng.choice(values),
                given_by=giver,
                given_for=receiver,
                text=f'Thanks, "{receiver.first_name}", for #{n}, with commas, and\na new line',
                given_at=NOW - timedelta(minutes=9 * n + 1),
                is_hidden=n % 50 == 0,
            )
        )
    Recognition.objects.bulk_create(recognitions)
    hi5s = [
        Hi5(recognition=recognition, given_by=person)
        for recognition in recognitions[::7]
        for person in people[:3]
        if person.pk not in (recognition.given_by_id, recognition.given_for_id)
    ]
    Hi5.objects.bulk_create(hi5s)
    return recognitions


def expected_rows(organization) -> list[list[str]]:
    tz = ZoneInfo(organization.timezone)
    rows = []
    for recognition in (
        Recognition.objects.filter(organization=organization)
        .select_related("given_by", "given_for", "core_value")
        .order_by("given_at", "id")
    ):
        rows.append(
            [
                str(recognition.pk),
                recognition.given_at.astimezone(tz).isoformat(timespec="seconds"),
                recognition.given_by.display_name,
                recognition.given_by.email,
                recognition.given_for.display_name,
                recognition.given_for.email,
                recognition.core_value.text,
                recognition.text,
                str(recognition.hi5s.count()),
                "true" if recognition.is_hidden else "false",
            ]
        )
    return rows


def test_a_csv_of_thousands_of_rows_reads_back_as_the_data(as_user, org_admin, organization, many, other_organization):
    organization.timezone = "Asia/Kolkata"
    organization.save()
    RecognitionFactory(organization=other_organization, given_at=NOW - timedelta(hours=1))  # never in ours

    rows = csv_rows(get(as_user(org_admin)))

    assert rows[0] == export.HEADER
    assert rows[1:] == expected_rows(organization)
    assert len(rows) == 3001
    assert rows[1][1].endswith("+05:30")  # in the organisation's time
    assert {row[9] for row in rows[1:]} == {"true", "false"}  # hidden ones too, said so


def test_the_xlsx_opens_in_a_spreadsheet_with_the_same_rows(as_user, org_admin, organization):
    recognition = RecognitionFactory(organization=organization, given_at=NOW - timedelta(hours=2), text="Bravo")
    RecognitionFactory(organization=organization, given_at=NOW - timedelta(hours=1), hidden=True)

    response = get(as_user(org_admin), format="xlsx")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="peerly-recognitions-')
    header, first, second = xlsx_rows(response)
    assert list(header) == export.HEADER
    assert first[0] == recognition.pk
    assert first[1] == datetime(2026, 6, 15, 10, 0)  # local time (UTC here), as Excel keeps it
    assert first[2:8] == (
        recognition.given_by.display_name,
        recognition.given_by.email,
        recognition.given_for.display_name,
        recognition.given_for.email,
        recognition.core_value.text,
        "Bravo",
    )
    assert (first[8], first[9], second[9]) == (0, False, True)


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_cells_a_spreadsheet_would_run_are_neutralised(as_user, org_admin, organization, text):
    giver = UserFactory(organization=organization, display_name="=cmd|' /C calc'!A0")
    RecognitionFactory(organization=organization, given_by=giver, text=text, given_at=NOW - timedelta(hours=1))

    [_, row] = csv_rows(get(as_user(org_admin)))
    assert row[7] == "'" + text
    assert row[2] == "'=cmd|' /C calc'!A0"
    [_, cells] = xlsx_rows(get(as_user(org_admin), format="xlsx"))
    assert cells[7].replace("_x000D_", "\r") == "'" + text  # a string cell, never a formula (\r kept escaped)
    assert cells[2] == "'=cmd|' /C calc'!A0"


def test_days_are_the_organisations(as_user, org_admin):
    """An organisation in Kolkata: a recognition at 23:59 and one at 00:01 local fall on two days."""
    organization = OrganizationFactory(timezone="Asia/Kolkata")
    admin = UserFactory(organization=organization, org_admin=True)
    kolkata = ZoneInfo("Asia/Kolkata")
    late = RecognitionFactory(organization=organization, given_at=datetime(2026, 6, 10, 23, 59, tzinfo=kolkata))
    early = RecognitionFactory(organization=organization, given_at=datetime(2026, 6, 11, 0, 1, tzinfo=kolkata))

    client = as_user(admin)
    assert [row[0] for row in csv_rows(get(client, **{"from": "2026-06-10", "to": "2026-06-10"}))[1:]] == [str(late.pk)]
    assert [row[0] for row in csv_rows(get(client, **{"from": "2026-06-11", "to": "2026-06-11"}))[1:]] == [
        str(early.pk)
    ]
    both = csv_rows(get(client, **{"from": "2026-06-10", "to": "2026-06-11"}))[1:]
    assert [row[1] for row in both] == ["2026-06-10T23:59:00+05:30", "2026-06-11T00:01:00+05:30"]


def test_the_default_period_is_the_last_30_days(as_user, org_admin, organization):
    inside = RecognitionFactory(organization=organization, given_at=datetime(2026, 5, 17, 0, 0, tzinfo=UTC))
    RecognitionFactory(organization=organization, given_at=datetime(2026, 5, 16, 23, 59, tzinfo=UTC))
    response = get(as_user(org_admin))
    assert "peerly-recognitions-2026-05-17-2026-06-15.csv" in response["Content-Disposition"]
    assert [row[0] for row in csv_rows(response)[1:]] == [str(inside.pk)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-06-10", "to": "2026-06-09"}, "to"),
        ({"from": "2023-06-09", "to": "2026-06-10"}, "from"),  # more than 3 years
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"format": "pdf"}, "format"),
        ({"to": "9999-12-31"}, "to"),  # the calendar's edges: 400, never an overflow
        ({"from": "0001-01-01", "to": "0001-01-03"}, "from"),
        ({"org_id": "x"}, "org_id"),
    ],
)
def test_bad_periods_and_formats_are_400_naming_the_field(as_user, org_admin, params, field):
    response = get(as_user(org_admin), **params)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/")  # the JSON envelope, not a file
    assert response.json()["error"]["code"] == "invalid_data"
    assert list(response.json()["error"]["fields"]) == [field]


def test_exactly_3_years_is_allowed(as_user, org_admin):
    assert get(as_user(org_admin), **{"from": "2023-06-10", "to": "2026-06-10"}).status_code == 200


def test_more_rows_than_a_spreadsheet_holds_is_400_asking_for_csv(as_user, org_admin, organization, monkeypatch):
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 2)
    RecognitionFactory.create_batch(3, organization=organization, given_at=NOW - timedelta(hours=1))
    response = get(as_user(org_admin), format="xlsx")
    assert response.status_code == 400
    assert "format=csv" in response.json()["error"]["fields"]["format"]
    assert len(csv_rows(get(as_user(org_admin), format="csv"))) == 4


def test_only_organisation_admins_export(as_user, employee, moderator):
    for member in (employee, moderator):
        response = get(as_user(member))
        assert (response.status_code, response.json()["error"]["code"]) == (403, "access_denied")


def test_a_super_admin_exports_any_organisation_named(as_user, super_admin, organization, org_admin):
    mine = RecognitionFactory(organization=organization, given_at=NOW - timedelta(hours=1))
    rows = csv_rows(get(as_user(super_admin), org_id=organization.pk))
    assert [row[0] for row in rows[1:]] == [str(mine.pk)]
    refused = get(as_user(org_admin), org_id=organization.pk + 1000)
    assert refused.status_code == 403


def test_the_export_costs_the_same_queries_for_10_or_500_rows(as_user, org_admin, organization):
    def queries_for_export(count: int) -> int:
        Recognition.objects.filter(organization=organization).delete()
        RecognitionFactory.create_batch(count, organization=organization, given_at=NOW - timedelta(hours=1))
        client = as_user(org_admin)
        with CaptureQueriesContext(connection) as queries:
            rows = csv_rows(get(client))
        assert len(rows) == count + 1
        return len(queries)

    assert queries_for_export(10) == queries_for_export(500)


def test_a_period_boundary_is_local_midnight():
    organization = OrganizationFactory.build(timezone="America/Los_Angeles")
    period = period_of(organization, first_day=date(2026, 3, 8), last_day=date(2026, 3, 8))  # DST starts
    assert period.start == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)
    assert period.end == datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # a 23-hour day


@pytest.mark.parametrize("timezone_name", ["UTC", "Asia/Kolkata", "America/Los_Angeles", "Asia/Kathmandu"])
def test_the_csv_is_byte_for_byte_what_pythons_csv_writer_writes(as_user, timezone_name):
    """PostgreSQL renders the lines (insights/export.py CSV_SQL): they must be exactly Python's csv
    writer's, for every kind of cell, and given_at exactly `isoformat(timespec="seconds")`."""
    organization = OrganizationFactory(timezone=timezone_name)
    admin = UserFactory(organization=organization, org_admin=True)
    texts = [
        "plain",
        'say "hi", then leave',
        "two\nlines",
        "carriage\rreturn",
        "crlf\r\nline",
        "",
        " leading space",
        "=1+1",
        "-minus, and comma",
        "\ttab",
        '"quoted"',
        "emoji 🎉 and ünïcode",
        "'already quoted",
    ]
    giver = UserFactory(organization=organization, display_name='Ann "The Giver", Esq.', email="ann@example.com")
    receiver = UserFactory(organization=organization, display_name="@receiver", email="bob@example.com")
    value = CoreValueFactory(organization=organization, text="Care,\ncraft")
    for n, text in enumerate(texts):
        recognition = RecognitionFactory(
            organization=organization,
            given_by=giver,
            given_for=receiver,
            core_value=value,
            text=text,
            given_at=datetime(2026, 3, 7, 23, 59, 59, 999999, tzinfo=UTC) + timedelta(hours=9 * n, seconds=n),
            is_hidden=n % 4 == 0,
        )
        for hi5_giver in UserFactory.create_batch(n % 3, organization=organization):
            Hi5.objects.create(recognition=recognition, given_by=hi5_giver)
    written = io.StringIO()
    writer = csv.writer(written)
    writer.writerow(export.HEADER)
    for row in expected_rows(organization):
        writer.writerow([export.neutralised(cell) if 2 <= index <= 7 else cell for index, cell in enumerate(row)])

    response = get(as_user(admin), **{"from": "2026-03-01", "to": "2026-03-15"})

    assert b"".join(response.streaming_content).decode("utf-8") == "\ufeff" + written.getvalue()
