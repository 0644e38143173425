"""The exports of /reports (Excel, CSV, the aggregates, the printable page) hold the
dashboard's numbers, cell by cell, in the user's scope; formula-like text stays text."""

import csv
import io
import re
from datetime import datetime
from urllib.parse import quote

import openpyxl
import pytest
from sqlalchemy import select

from tests.factories import NOW
from tests.reports.test_dashboard import _row, dash  # noqa: F401 (fixture)
from tests.reports.test_figures import DAY, attended, fw, people  # noqa: F401 (fixture)
from webapp.extensions import db
from webapp.people.models import Person
from webapp.reports import exports, figures
from webapp.reports.exports import AGGREGATE_HEADERS, CSV_HEADERS, SUMMARY_HEADERS

TOTAL = "Tổng"  # the dashboard's total row (Vietnamese)


@pytest.fixture
def known(dash):  # noqa: F811
    """The dashboard's people, and some trained, one with a digital signature."""
    persons = {p.full_name: p for p in db.session.scalars(select(Person))}
    attended(persons[dash.names["b"]], NOW - 2 * DAY)
    attended(persons[dash.names["far"]], NOW - 4 * DAY)
    persons[dash.names["far"]].digital_signature = True
    db.session.commit()
    return dash


def _shown_pct(value) -> str:
    """A percentage as the dashboard writes it: "33,3 %", "50 %", "—"."""
    if value is None:
        return "—"
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",") + " %"


def _shown_points(value) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",") + " điểm"


def _shown(value) -> str:
    return "—" if value is None else str(value)


def _number(text: str) -> int | float | None:
    """A CSV cell as a number ("" is no number)."""
    if text == "":
        return None
    return float(text) if "." in text else int(text)


def _dashboard_cells(html: str, code: str, unit: str) -> list[str]:
    """Reached, out of, %, gap, still to reach, as the dashboard shows them."""
    cells = _row(html, code, unit)[:5]
    cells[4] = cells[4].split(" ")[0]  # without the "who is left" link
    return cells


def _export_cells(numerator, denominator, pct, gap, short) -> list[str]:
    return [str(numerator), _shown(denominator), _shown_pct(pct), _shown_points(gap), _shown(short)]


def _table(query: str, known) -> figures.Table:
    """The table the dashboard shows for ``query`` (to know the units and indicators)."""
    return figures.table(
        figures.Scope("village", (known.commune_id,))
        if "village=" not in query
        else figures.Scope("household", (known.commune_id,), known.v1.id),
        year=2025,
        as_of=NOW if "as_of" not in query else figures.end_of_day((NOW - 5 * DAY).date()),
    )


QUERIES = ["year=2025", "year=2025&as_of={day}", "year=2025&village={v1}"]


def _query(template: str, known) -> str:
    return template.format(day=(NOW - 5 * DAY).strftime("%d/%m/%Y"), v1=known.v1.id)


def _get(actions, url: str):
    response = actions.client.get(url)
    assert response.status_code == 200, url
    return response


@pytest.mark.parametrize("template", QUERIES)
def test_the_workbook_holds_the_dashboards_numbers(known, actions, template):
    actions.login("organiser")
    query = _query(template, known)
    html = _get(actions, f"/reports?{query}").get_data(as_text=True)
    response = _get(actions, f"/reports/export.xlsx?{query}")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    table = _table(query, known)
    assert book.sheetnames[0] == "Tổng hợp" and len(book.sheetnames) == len(table.rows) + 2
    assert book.sheetnames[-1] == "Lớp học và điểm danh"
    assert len(set(book.sheetnames)) == len(book.sheetnames)
    assert all(len(name) <= 31 for name in book.sheetnames)
    summary = book["Tổng hợp"]
    assert summary["A1"].value == "UBND xã Ngọk Bay"
    assert "Số liệu tính đến" in summary["A3"].value
    header = [c.value for c in summary[5]]
    assert header == SUMMARY_HEADERS
    for number, (row, sheet) in enumerate(
        zip(table.rows, book.worksheets[1:-1], strict=True), start=1
    ):
        code = row.indicator.code
        target, actual, reached, out_of, gap, short = (c.value for c in summary[5 + number][2:])
        assert round(target * 100, 1) == row.indicator.target_pct
        got = _export_cells(reached, out_of, None if actual is None else actual * 100, gap, short)
        assert got == _dashboard_cells(html, code, TOTAL), code
        lines = list(sheet.iter_rows(min_row=7, values_only=True))
        assert len(lines) == len(table.units) + 1
        for unit_name, *numbers in lines:
            unit = TOTAL if unit_name == "Tổng cộng" else unit_name
            numerator, denominator, pct, gap, short = numbers
            got = _export_cells(
                numerator, denominator, None if pct is None else pct * 100, gap, short
            )
            assert got == _dashboard_cells(html, code, unit), (code, unit)


@pytest.mark.parametrize("template", QUERIES)
def test_the_csv_holds_the_dashboards_numbers(known, actions, template):
    actions.login("organiser")
    query = _query(template, known)
    html = _get(actions, f"/reports?{query}").get_data(as_text=True)
    body = _get(actions, f"/reports/export.csv?{query}").data
    assert body.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert lines[0] == CSV_HEADERS
    table = _table(query, known)
    assert len(lines) == 1 + len(table.rows) * (len(table.units) + 1)
    for code, _name, level, unit, *numbers in lines[1:]:
        unit = TOTAL if level == "Tổng cộng" else unit
        reached, out_of, pct, _target, gap, short = (_number(n) for n in numbers)
        got = _export_cells(reached, out_of, pct, gap, short)
        assert got == _dashboard_cells(html, code, unit), (code, unit)


@pytest.mark.parametrize("template", QUERIES)
def test_the_aggregates_hold_the_dashboards_numbers(known, actions, template):
    actions.login("organiser")
    query = _query(template, known)
    html = _get(actions, f"/reports?{query}").get_data(as_text=True)
    body = _get(actions, f"/reports/aggregates.csv?{query}").data
    assert not body.startswith("\ufeff".encode())
    lines = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert list(lines[0]) == AGGREGATE_HEADERS
    table = _table(query, known)
    assert len(lines) == len(table.rows) * (len(table.units) + 1)
    parent = "village" if "village=" in query else "commune"
    for line in lines:
        unit = TOTAL if line["unit_level"] == parent else line["unit_name"]
        cells = _dashboard_cells(html, line["indicator_code"], unit)
        assert [line["numerator"], line["denominator"]] == cells[:2]
        assert line["period"] == "as_of" and line["year"] == "2025"
        as_of = datetime.fromisoformat(line["as_of"])
        assert as_of.utcoffset().total_seconds() == 7 * 3600
        assert as_of.replace(microsecond=0) <= table.as_of.replace(microsecond=0)
    totals = [line for line in lines if line["unit_level"] == parent]
    assert {line["unit_id"] for line in totals} == {
        str(known.v1.id if parent == "village" else known.commune_id)
    }


def test_the_print_page_has_the_heading_the_numbers_and_the_signatures(known, actions):
    actions.login("organiser")
    html = _get(actions, "/reports?year=2025").get_data(as_text=True)
    page = _get(actions, "/reports/print?year=2025").get_data(as_text=True)
    for words in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập – Tự do – Hạnh phúc",
        "UBND XÃ NGỌK BAY",
        "Kết quả thực hiện phổ cập kỹ năng số năm 2025",
        "Người lập biểu",
        "TM. Ủy ban nhân dân",
        "Ngọk Bay, ngày 25 tháng 11 năm 2025",
        "report-print.css",
    ):
        assert words in page, words
    for row in _table("year=2025", known).rows:
        code = row.indicator.code
        line = page[page.index(f'id="sum-{code}"') :]
        line = line[: line.index("</tr>")]
        assert row.indicator.name_vi in line
        cells = [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", line)]
        _number, target, actual, reached, out_of, gap, short = cells
        assert target == _shown_pct(row.indicator.target_pct)
        assert [reached, out_of, actual, gap, short] == _dashboard_cells(html, code, TOTAL), code


def test_the_dashboard_links_to_the_exports_with_its_filter(known, actions):
    actions.login("organiser")
    html = _get(actions, f"/reports?year=2025&village={known.v1.id}").get_data(as_text=True)
    for url in ("export.xlsx", "export.csv", "aggregates.csv", "print"):
        assert f'href="/reports/{url}?year=2025&amp;village={known.v1.id}"' in html, url


def test_a_village_lead_exports_only_their_village(known, actions):
    actions.login("lead")
    book = openpyxl.load_workbook(io.BytesIO(_get(actions, "/reports/export.xlsx").data))
    units = {
        row[0]
        for sheet in book.worksheets[1:]
        for row in sheet.iter_rows(min_row=7, values_only=True)
    }
    assert units == {"T1-001", "Tổng cộng"}
    for url in ("/reports/export.csv", "/reports/aggregates.csv", "/reports/print"):
        text = _get(actions, url).get_data(as_text=True)
        assert "Thôn 2" not in text and "T2-" not in text, url
    aggregates = _get(actions, "/reports/aggregates.csv").get_data(as_text=True)
    assert {line["unit_name"] for line in csv.DictReader(io.StringIO(aggregates))} == {
        "T1-001",
        "Thôn 1",
    }
    for url in ("/reports/export.xlsx", "/reports/export.csv", "/reports/aggregates.csv"):
        assert actions.client.get(f"{url}?village={known.v2.id}").status_code == 404


def test_the_files_have_vietnamese_names(known, actions):
    actions.login("organiser")
    response = _get(actions, "/reports/export.xlsx?year=2025")
    disposition = response.headers["Content-Disposition"]
    assert quote("Báo cáo kỹ năng số 2025 - Ngọk Bay.xlsx") in disposition
    assert 'filename="Bao cao ky nang so 2025 - Ngok Bay.xlsx"' in disposition
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert _get(actions, "/reports/export.csv").mimetype == "text/csv"
    assert "no-store" in response.headers["Cache-Control"]


def test_formula_like_names_stay_text(known, actions):
    first = figures.indicators_of(2025)[0]
    first.name_vi = "=cmd|'/C calc'!A0 [chỉ tiêu]: một tên rất dài của chỉ tiêu?"
    known.v1.name = '=HYPERLINK("http://x","y")'
    db.session.commit()
    actions.login("organiser")
    book = openpyxl.load_workbook(io.BytesIO(_get(actions, "/reports/export.xlsx").data))
    cell = book.worksheets[1]["A7"]
    assert cell.value == known.v1.name and cell.data_type == "s"
    name = book["Tổng hợp"]["B6"]
    assert name.value == first.name_vi and name.data_type == "s"
    assert book.sheetnames[1] == "1. =cmd| C calc !A0 chỉ tiêu"
    for url in ("/reports/export.csv", "/reports/aggregates.csv"):
        text = _get(actions, url).get_data(as_text=True)
        assert ",'=HYPERLINK(" in text.replace('"', ""), url
        assert ",'=cmd|" in text or url.endswith("aggregates.csv"), url  # no names there
        assert ",=HYPERLINK" not in text.replace('"', ""), url


def test_a_snapshot_exports_as_the_live_figures(known):
    """What a submitted report's export will do: the frozen table gives the same files."""
    live = _table("year=2025", known)
    frozen = figures.from_snapshot(figures.snapshot(live))
    for fmt in ("csv", "aggregates"):
        assert exports.export_table(frozen, fmt) == exports.export_table(live, fmt)
    book = openpyxl.load_workbook(io.BytesIO(exports.export_table(frozen, "xlsx").body))
    assert book.sheetnames == ["Tổng hợp", *exports.sheet_names(live), exports.ACTIVITY_SHEET]
    assert exports.export_table(live, "aggregates", period="2025-Q4").body.count(b",2025-Q4,") == (
        len(live.rows) * (len(live.units) + 1)
    )
