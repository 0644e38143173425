"""The figures of a :class:`~webapp.reports.figures.Table` as files: the Excel workbook, the
CSV for people, the machine-readable aggregates for a province system, and what the
printable page needs. Every number is the table's, as the dashboard shows it; nothing here
reads the request, so a submitted report exports the same way from
:func:`~webapp.reports.figures.from_snapshot` (:func:`export_table`).
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import openpyxl
from flask_babel import force_locale
from sqlalchemy import select

from webapp.certificates.pdf import attachment
from webapp.extensions import db
from webapp.people.models import TARGET_GROUP_LABELS, Commune, Village
from webapp.reports.figures import Figure, Row, Table, end_of_day
from webapp.reports.models import DENOMINATOR_LABELS, MEASURE_LABELS, Denominator, Measure
from webapp.spreadsheet import (
    BOLD,
    FORMULA_STARTS,
    Styled,
    append,
    format_table,
    heading,
    to_bytes,
)
from webapp.timeutil import LOCAL_TZ

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"
PCT = "0.0%"
POINTS = "0.0"

UNIT_WORDS = {"commune": "Xã", "village": "Thôn", "household": "Hộ"}
#: The level one up from a scope's units: what their total is the figure of.
PARENT_LEVEL = {"commune": "province", "village": "commune", "household": "village"}

SUMMARY_HEADERS = [
    "STT",
    "Chỉ tiêu",
    "Mục tiêu",
    "Thực hiện",
    "Đã đạt",
    "Trên tổng số",
    "Còn thiếu (điểm %)",
    "Còn phải đạt",
]
UNIT_HEADERS = ["Đã đạt", "Trên tổng số", "Tỉ lệ", "Còn thiếu (điểm %)", "Còn phải đạt"]
CSV_HEADERS = [
    "Mã chỉ tiêu",
    "Chỉ tiêu",
    "Cấp",
    "Đơn vị",
    "Đã đạt",
    "Trên tổng số",
    "Tỉ lệ (%)",
    "Mục tiêu (%)",
    "Còn thiếu (điểm %)",
    "Còn phải đạt",
]
AGGREGATE_HEADERS = [
    "indicator_code",
    "indicator_version",
    "year",
    "measure",
    "target_group",
    "denominator_source",
    "unit_level",
    "unit_id",
    "unit_name",
    "period",
    "as_of",
    "numerator",
    "denominator",
    "target_pct",
]
TOTAL_WORD = "Tổng cộng"
SHEET_NAME_MAX = 31
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\']+")
_NOT_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


@dataclass(frozen=True)
class Heading:
    """Who reports, about what: the committee's name, the place the report is signed in, the
    units' parent (the total's unit) and the moment of the figures."""

    committee: str
    place: str
    parent_id: int | None
    parent_name: str
    as_of: datetime

    @property
    def as_of_text(self) -> str:
        return f"Số liệu tính đến {self.as_of.strftime('%d/%m/%Y %H:%M')}"


def heading_of(table: Table) -> Heading:
    """The committee (the commune's, or the province's for several communes) and the parent
    unit of the table's units."""
    scope = table.scope
    as_of = table.as_of.astimezone(LOCAL_TZ)
    stmt = select(Commune).order_by(Commune.name)
    if scope.commune_ids is not None:
        stmt = stmt.where(Commune.id.in_(scope.commune_ids))
    communes = list(db.session.scalars(stmt))
    provinces = sorted({c.province for c in communes if c.province})
    if len(communes) == 1:
        commune = communes[0]
        committee = commune.committee_name or f"Ủy ban nhân dân xã {commune.name}"
        place, parent = commune.name, (commune.id, commune.name)
    else:
        place = ", ".join(provinces)
        committee = f"Ủy ban nhân dân tỉnh {place}" if place else "Ủy ban nhân dân"
        parent = (None, place)
    if scope.village_id is not None:
        village = db.session.get(Village, scope.village_id)
        parent = (village.id, village.name) if village else parent
    return Heading(committee, place, parent[0], parent[1], as_of)


# --- the numbers of a line, as the dashboard shows them ---------------------------------------


class Line(NamedTuple):
    """One unit's figure: reached, out of, percent, gap (points), still to reach; a unit
    without records is 0 of 0 and the rest empty, as on the dashboard."""

    numerator: int
    denominator: int | None
    pct: float | None
    gap: float | None
    short: int | None


def line(row: Row, figure: Figure | None) -> Line:
    if figure is None:
        return Line(0, 0, None, None, None)
    return Line(
        figure.numerator,
        figure.denominator,
        figure.pct,
        row.gap(figure),
        row.short_of_target(figure),
    )


def unit_lines(table: Table, row: Row) -> list[tuple[int, str, Line]]:
    """Each unit of the table (in display order) with its line for the row."""
    return [(uid, name, line(row, row.units.get(uid))) for uid, name in table.units.items()]


def safe_text(value: str) -> str:
    """Text a spreadsheet opening a CSV will not run as a formula ("'=…")."""
    return f"'{value}" if value[:1] in (*FORMULA_STARTS, "\t", "\r") else value


def definition(indicator) -> str:
    """What the indicator counts and out of what, in Vietnamese (as the dashboard says it)."""
    with force_locale("vi"):
        group = TARGET_GROUP_LABELS.get(indicator.target_group)
        measure = MEASURE_LABELS.get(indicator.measure, indicator.measure)
        what = f"{group} {measure}" if group else str(measure)
        source = indicator.denominator if indicator.unit == "person" else "registry"
        return f"Đếm: {what}. Trên tổng số: {DENOMINATOR_LABELS.get(source, source)}."


# --- the workbook --------------------------------------------------------------------------


def _pct(value: float | None) -> Styled:
    return Styled(None if value is None else round(value / 100, 4), PCT)


def _figures(found: Line) -> list:
    return [
        found.numerator,
        found.denominator,
        _pct(found.pct),
        Styled(found.gap, POINTS),
        found.short,
    ]


def sheet_names(table: Table) -> list[str]:
    """A sheet name per indicator: "1. Người trưởng thành …", at most 31 characters, without
    the characters Excel refuses, cut between words; numbered, so unique."""
    names = []
    for number, row in enumerate(table.rows, start=1):
        name = " ".join(_NOT_IN_SHEET_NAMES.sub(" ", row.indicator.name_vi).split())
        name = f"{number}. {name}"
        if len(name) > SHEET_NAME_MAX:  # cut between words
            name = name[: SHEET_NAME_MAX + 1].rsplit(" ", 1)[0].rstrip(" ,.-–")
        names.append(name)
    return names


def _summary_sheet(book, table: Table, about: Heading) -> None:
    sheet = book.active
    sheet.title = "Tổng hợp"
    heading(sheet, about.committee)
    append(sheet, [f"Báo cáo kết quả thực hiện phổ cập kỹ năng số năm {table.year}"], font=BOLD)
    append(sheet, [f"{about.parent_name} · {about.as_of_text}"])
    append(sheet, [])
    header_row = append(sheet, SUMMARY_HEADERS)
    for number, row in enumerate(table.rows, start=1):
        total = line(row, row.total)
        ind = row.indicator
        append(
            sheet,
            [
                number,
                ind.name_vi,
                _pct(ind.target_pct),
                _pct(total.pct),
                total.numerator,
                total.denominator,
                Styled(total.gap, POINTS),
                total.short,
            ],
        )
    format_table(sheet, header_row=header_row, freeze_column=3, maximum=60)


def _indicator_sheet(book, table: Table, row: Row, name: str, about: Heading) -> None:
    sheet = book.create_sheet(name)
    ind = row.indicator
    heading(sheet, ind.name_vi)
    append(sheet, [definition(ind)])
    append(sheet, [f"Mục tiêu: {ind.target_pct:g} %{' (' + ind.note + ')' if ind.note else ''}"])
    append(sheet, [about.as_of_text])
    append(sheet, [])
    header_row = append(sheet, [UNIT_WORDS[table.scope.level], *UNIT_HEADERS])
    for _unit_id, unit_name, found in unit_lines(table, row):
        append(sheet, [unit_name, *_figures(found)])
    last_row = sheet.max_row
    append(sheet, [TOTAL_WORD, *_figures(line(row, row.total))], font=BOLD)
    format_table(sheet, header_row=header_row, last_row=last_row, landscape=False)


ACTIVITY_SHEET = "Lớp học và điểm danh"
ACTIVITY_HEADERS = [
    "Lớp có buổi học",
    "Buổi học đã diễn ra",
    "Lượt có mặt",
    "Lượt dự kiến",
    "Tỉ lệ",
]
NO_VILLAGE = "Cả xã (không thuộc thôn)"


def _activity_sheet(book, table: Table, about: Heading) -> None:
    """Classes, sessions held and the attendance rate in the year, by the classes' unit (the
    dashboard's activity panel, :func:`webapp.reports.panels.activity`)."""
    from webapp.reports import panels

    found = panels.activity(table.scope, table.year, table.as_of)
    names = panels.class_units(table.scope)
    sheet = book.create_sheet(ACTIVITY_SHEET)
    heading(sheet, f"Lớp học, buổi học và điểm danh năm {table.year}")
    append(sheet, [about.as_of_text])
    append(sheet, [])
    word = "Xã" if table.scope.level == "commune" else "Thôn"
    header_row = append(sheet, [word, *ACTIVITY_HEADERS])
    units = [u for u in names if u in found.units()] + (
        [None] if None in found.units() and None not in names else []
    )
    for unit in units:
        numbers = [found.classes.get(unit, 0), found.sessions.get(unit, 0)]
        numbers += [found.attended.get(unit, 0), found.expected.get(unit, 0)]
        append(sheet, [names.get(unit, NO_VILLAGE), *numbers, _pct(found.rate(unit))])
    last_row = sheet.max_row
    totals = [sum(found.classes.values()), sum(found.sessions.values())]
    totals += [sum(found.attended.values()), sum(found.expected.values())]
    append(sheet, [TOTAL_WORD, *totals, _pct(found.rate(total=True))], font=BOLD)
    format_table(sheet, header_row=header_row, last_row=last_row, landscape=False)


def workbook(table: Table) -> bytes:
    """The summary sheet in the layout of the plan's target table, one sheet per indicator by
    unit with its total, then the classes and their attendance."""
    about = heading_of(table)
    book = openpyxl.Workbook()
    _summary_sheet(book, table, about)
    for row, name in zip(table.rows, sheet_names(table), strict=True):
        _indicator_sheet(book, table, row, name, about)
    _activity_sheet(book, table, about)
    return to_bytes(book)


# --- CSV -------------------------------------------------------------------------------------


def _csv(rows: list[list], *, bom: bool) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def _blank(value):
    return "" if value is None else value


def table_csv(table: Table) -> bytes:
    """One line per indicator × unit and a total line per indicator, Vietnamese header, UTF-8
    with a byte-order mark (Excel then shows the accents)."""
    level = UNIT_WORDS[table.scope.level]
    parent = heading_of(table).parent_name or TOTAL_WORD
    lines: list[list] = [CSV_HEADERS]
    for row in table.rows:
        ind = row.indicator
        start = [ind.code, safe_text(ind.name_vi)]
        found = [*unit_lines(table, row), (None, parent, line(row, row.total))]
        for unit_id, name, figure in found:
            where = [level if unit_id is not None else TOTAL_WORD, safe_text(name)]
            lines.append(start + where + [_blank(v) for v in _csv_numbers(ind, figure)])
    return _csv(lines, bom=True)


def _csv_numbers(ind, found: Line) -> list:
    return [found.numerator, found.denominator, found.pct, ind.target_pct, found.gap, found.short]


# --- the aggregates (machine-readable) ---------------------------------------------------------


def denominator_source(indicator, level: str) -> str:
    """Where the denominator really came from: the populations the commune entered apply
    per village and up, for an indicator of people of a group; else the registry's count."""
    entered = (
        indicator.denominator == Denominator.ENTERED
        and indicator.target_group
        and indicator.measure != Measure.MENTOR_MINIMUM
        and level != "household"
    )
    return Denominator.ENTERED.value if entered else Denominator.REGISTRY.value


def period_of(table: Table) -> str:
    """The year when the figures are the whole year's (as of its last moment), else "as_of"."""
    whole_year = table.as_of >= end_of_day(datetime(table.year, 12, 31).date())
    return str(table.year) if whole_year else "as_of"


def aggregates_csv(table: Table, *, period: str | None = None) -> bytes:
    """One line per indicator × unit × period, plus the units' parent (their total): plain
    UTF-8, English header, no formatting (columns: docs/reports.md, "Exports")."""
    about = heading_of(table)
    level = table.scope.level
    period = period or period_of(table)
    as_of = about.as_of.isoformat(timespec="seconds")
    lines: list[list] = [AGGREGATE_HEADERS]
    for row in table.rows:
        ind = row.indicator
        units = [(level, uid, name, row.units.get(uid)) for uid, name in table.units.items()]
        units.append((PARENT_LEVEL[level], about.parent_id, about.parent_name, row.total))
        for unit_level, unit_id, name, figure in units:
            figure = figure or Figure(0, 0)
            lines.append(
                [
                    ind.code,
                    ind.version,
                    ind.year,
                    ind.measure,
                    ind.target_group or "",
                    denominator_source(ind, unit_level),
                    unit_level,
                    _blank(unit_id),
                    safe_text(name),
                    period,
                    as_of,
                    figure.numerator,
                    _blank(figure.denominator),
                    ind.target_pct,
                ]
            )
    return _csv(lines, bom=False)


# --- one entry point -------------------------------------------------------------------------


class Export(NamedTuple):
    body: bytes
    mimetype: str
    content_disposition: str


def file_name(table: Table, extension: str, about: Heading | None = None) -> str:
    """ "Báo cáo kỹ năng số 2026 - Ngọk Bay.xlsx" (characters file systems refuse left out)."""
    about = about or heading_of(table)
    stem = f"Báo cáo kỹ năng số {table.year}"
    if about.parent_name:
        stem += f" - {about.parent_name}"
    return f"{' '.join(_NOT_IN_FILE_NAMES.sub(' ', stem).split())[:116]}.{extension}"


def export_table(table: Table, fmt: str, *, period: str | None = None) -> Export:
    """The table as a file: ``fmt`` is "xlsx", "csv" or "aggregates"; a submitted report
    passes ``figures.from_snapshot(report.figures)`` and its ``period``."""
    if fmt == "xlsx":
        body, mimetype, extension = workbook(table), XLSX_MIMETYPE, "xlsx"
    elif fmt == "csv":
        body, mimetype, extension = table_csv(table), CSV_MIMETYPE, "csv"
    elif fmt == "aggregates":
        body, mimetype = aggregates_csv(table, period=period), CSV_MIMETYPE
        return Export(body, mimetype, attachment(f"aggregates-{table.year}.csv"))
    else:
        raise ValueError(fmt)
    return Export(body, mimetype, attachment(file_name(table, extension)))
