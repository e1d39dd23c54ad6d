"""The recognitions of a period as a spreadsheet: one row per recognition, hidden ones included (and
said so), given_at in the organisation's time.

CSV is streamed: the rows come from a server-side cursor in chunks and are written as they come, so
memory stays flat however many there are. XLSX is written by xlsxwriter in constant-memory mode to a
temporary file, then streamed; Excel holds at most 1,048,576 rows (the header and 1,048,575
recognitions), so a longer period is refused with a pointer to CSV.

Cells a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage
return) are neutralised with a leading apostrophe, as OWASP advises against formula injection: a
recognition's text is anyone's input. (XLSX cells are written as strings, never formulas, anyway.)
"""

import csv
import io
import tempfile
from collections.abc import Iterator
from datetime import datetime

import xlsxwriter
from django.db import connection, transaction
from django.http import FileResponse, StreamingHttpResponse

from accounts.models import Organization
from insights.periods import Period
from peerly.api.exceptions import InvalidData
from recognitions.models import Recognition
from recognitions.selectors import hi5_count

HEADER = [
    "id",
    "given_at",
    "giver",
    "giver_email",
    "receiver",
    "receiver_email",
    "core_value",
    "text",
    "hi5_count",
    "hidden",
]
XLSX_MAX_ROWS = 1_048_575  # Excel's 1,048,576 rows, less the header
CHUNK = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def export_rows(organization: Organization, period: Period):
    """The period's recognitions, oldest first, as value tuples in HEADER's order (given_at in UTC)."""
    return (
        Recognition.objects.filter(organization=organization, given_at__gte=period.start, given_at__lt=period.end)
        .annotate(hi5_total=hi5_count())
        .order_by("given_at", "id")
        .values_list(
            "id",
            "given_at",
            "given_by__display_name",
            "given_by__email",
            "given_for__display_name",
            "given_for__email",
            "core_value__text",
            "text",
            "hi5_total",
            "is_hidden",
        )
    )


# The CSV export's rows: ids, given_at as whole seconds since the epoch (loaded as an int, far cheaper
# than a timestamp's text; isoformat(timespec="seconds") drops the fraction anyway), the six text cells,
# the Hi5 count, hidden. Oldest first.
CSV_SQL = """
SELECT r.id, floor(extract(epoch FROM r.given_at))::bigint,
       giver.display_name, giver.email, receiver.display_name, receiver.email, value.text, r.text,
       (SELECT count(*) FROM recognitions_hi5 AS h WHERE h.recognition_id = r.id),
       r.is_hidden
FROM recognitions_recognition AS r
JOIN accounts_user AS giver ON giver.id = r.given_by_id
JOIN accounts_user AS receiver ON receiver.id = r.given_for_id
JOIN corevalues_corevalue AS value ON value.id = r.core_value_id
WHERE r.organization_id = %(org)s AND r.given_at >= %(start)s AND r.given_at < %(end)s
ORDER BY r.given_at, r.id
"""


def csv_chunks(organization: Organization, period: Period) -> Iterator[str]:
    """The export as CSV text (with a BOM, so Excel reads UTF-8), a chunk of rows at a time (a few
    hundred kilobytes: one write to the client each, not one per row), as the cursor reads.

    The query runs, and its first rows are fetched, when the first chunk is asked for: the view asks
    before it answers, so a failing query is still an error envelope, not a 200 cut short. Outside a
    transaction (the web request's autocommit) Django declares the server-side cursor WITH HOLD:
    PostgreSQL computes the result at once (spilling to its temporary files, not to Peerly's memory)
    and the rows then stream out in chunks; no transaction stays open across the response. The cursor
    is closed as soon as it is read to the end."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(HEADER)
    tz = period.tz
    moment = datetime.fromtimestamp
    cursor = connection.chunked_cursor()
    try:
        cursor.execute(CSV_SQL, {"org": organization.pk, "start": period.start, "end": period.end})
        while True:
            rows = cursor.fetchmany(CHUNK)
            if len(rows) < CHUNK:
                cursor.close()
            writer.writerows(
                (
                    rid,
                    moment(seconds, tz).isoformat(),
                    neutralised(giver),
                    neutralised(giver_email),
                    neutralised(receiver),
                    neutralised(receiver_email),
                    neutralised(value),
                    neutralised(text),
                    hi5s,
                    "true" if hidden else "false",
                )
                for rid, seconds, giver, giver_email, receiver, receiver_email, value, text, hi5s, hidden in rows
            )
            yield buffer.getvalue()
            if cursor.closed:
                return
            buffer.seek(0)
            buffer.truncate()
    finally:
        cursor.close()


def xlsx_file(organization: Organization, period: Period):
    """The export as an XLSX file (a temporary file, rewound; deleted when closed). More rows than
    Excel holds: 400 naming `format`. xlsxwriter's own temporary files live in a folder removed
    whatever happens."""
    rows = export_rows(organization, period)
    if rows.count() > XLSX_MAX_ROWS:
        raise InvalidData(fields={"format": TOO_MANY_ROWS})
    output = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the response, which closes it)
    with tempfile.TemporaryDirectory(prefix="peerly-xlsx-") as scratch:
        try:
            _xlsx_write(output, rows, period, scratch)
        except BaseException:
            output.close()
            raise
    output.seek(0)
    return output


TOO_MANY_ROWS = f"More than the {XLSX_MAX_ROWS:,} rows a spreadsheet holds: ask for format=csv."


def _xlsx_write(output, rows, period: Period, scratch: str) -> None:
    workbook = xlsxwriter.Workbook(
        output,
        {
            "constant_memory": True,
            "tmpdir": scratch,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    sheet = workbook.add_worksheet("Recognitions")
    bold = workbook.add_format({"bold": True})
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, HEADER, bold)
    sheet.set_column(1, 1, 17)
    tz = period.tz
    with transaction.atomic():  # a plain cursor (not WITH HOLD): it streams while the file is written
        for line, row in enumerate(rows.iterator(chunk_size=CHUNK), start=1):
            if line > XLSX_MAX_ROWS:  # rows added since the count: never past the sheet's end
                raise InvalidData(fields={"format": TOO_MANY_ROWS})
            rid, given_at, giver, giver_email, receiver, receiver_email, value, text, hi5s, hidden = row
            sheet.write_number(line, 0, rid)
            sheet.write_datetime(line, 1, given_at.astimezone(tz).replace(tzinfo=None), when)
            for column, cell in enumerate((giver, giver_email, receiver, receiver_email, value, text), start=2):
                sheet.write_string(line, column, neutralised(cell))
            sheet.write_number(line, 8, hi5s)
            sheet.write_boolean(line, 9, hidden)
    workbook.close()


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _Primed:
    """A generator whose first item is taken at once; closing it (the response does) closes the generator."""

    def __init__(self, generator: Iterator[str]) -> None:
        self.generator = generator
        self.first = next(generator)

    def __iter__(self) -> Iterator[str]:
        yield self.first
        yield from self.generator

    def close(self) -> None:
        self.generator.close()


def export_response(organization: Organization, period: Period, file_format: str):
    """The download (the API's and the back office's): CSV streamed, or the XLSX file."""
    name = f"peerly-recognitions-{period.first_day}-{period.last_day}"
    if file_format == "xlsx":
        return FileResponse(
            xlsx_file(organization, period), as_attachment=True, filename=f"{name}.xlsx", content_type=XLSX_TYPE
        )
    chunks = _Primed(csv_chunks(organization, period))  # the query runs now: a failure is still an error envelope
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
