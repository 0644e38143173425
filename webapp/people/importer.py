"""Importing persons from a spreadsheet (.xlsx or .csv) with Vietnamese column headers.

Two steps, never half-done:

1. :func:`stage` reads the uploaded file once, within bounds (see "reading the file"), and
   stores its rows in the database (an :class:`ImportBatch`); :func:`check` reports every
   row's problems; nothing else is written.
2. :func:`commit` checks the rows again against the database as it is now, and writes all
   rows or none (one transaction, one bulk insert). A batch is committed at most once.

The rows are kept in the database, not on one host's disk or in memory, so the preview and
the commit may be served by different app processes.
"""

import csv
import functools
import io
import posixpath
import re
import secrets
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from xml.etree import ElementTree
from xml.parsers import expat

import openpyxl
from flask import current_app
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from python_calamine import CalamineWorkbook
from sqlalchemy import delete, insert, select, update

from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.i18n import lazy_text as _l
from webapp.people.models import (
    DisabilityType,
    Household,
    ImportBatch,
    Person,
    Sex,
    TargetGroup,
    Village,
)
from webapp.people.names import check_full_name
from webapp.people.services import PersonInput, birth_year_problem
from webapp.permissions import MANAGERS
from webapp.phone import phone_or_none
from webapp.spreadsheet import (
    DATE,
    TEXT,
    Styled,
    append,
    format_table,
    heading,
    put,
    to_bytes,
)
from webapp.text import clean, fold, name_key, name_sort_key
from webapp.timeutil import format_date, parse_date

# --- the columns ------------------------------------------------------------------------------
#
# Each column names the parser of its cells: ``parse(text, column, context)`` returns the
# value, or raises ValueError whose message is the row's problem (the value is then None).
# The cells were cleaned when the file was read (see :func:`_cell`).

GROUP_WORDS = {
    TargetGroup.PUBLIC_SECTOR: ("can bo", "cong chuc", "vien chuc", "khu vuc cong", "public"),
    TargetGroup.STUDENT: ("hoc sinh", "student"),
    TargetGroup.ENTERPRISE_WORKER: ("doanh nghiep", "hop tac xa", "nguoi lao dong", "worker"),
    TargetGroup.CITIZEN: ("nguoi dan", "citizen", "resident"),
}
GROUP_EXAMPLES = "Người dân; Học sinh; Cán bộ, công chức, viên chức; Người lao động doanh nghiệp"
DISABILITY_WORDS = {
    DisabilityType.VISION: ("nhin", "thi", "mu", "vision", "blind"),
    DisabilityType.HEARING: ("nghe", "thinh", "diec", "hearing", "deaf"),
    DisabilityType.MOBILITY: ("van dong", "mobility"),
    DisabilityType.INTELLECTUAL: ("tri tue", "intellectual"),
    DisabilityType.OTHER: ("khac", "other"),
}
DISABILITY_EXAMPLES = "Khiếm thị; Khiếm thính; Vận động; Trí tuệ; Khác"
SEX_WORDS = {"nam": Sex.MALE, "male": Sex.MALE, "nu": Sex.FEMALE, "female": Sex.FEMALE}
YES = {"co", "x", "yes", "1", "true", "da co", "roi"}
NO = {"", "khong", "no", "0", "false", "chua"}
_TARGET_GROUPS = frozenset(TargetGroup)
_DISABILITY_TYPES = frozenset(DisabilityType)


@dataclass(frozen=True)
class CheckContext:
    """What checking a row needs besides its cells: the commune's villages (by folded name,
    see :func:`_village_index`) and the time of the check."""

    villages: dict[str, Village]
    now: datetime


def _pick(text: str, words: dict) -> str | None:
    folded = fold(text)
    if folded in {fold(str(k)) for k in words}:
        return folded
    padded = f" {' '.join(folded.replace(',', ' ').replace('/', ' ').split())} "
    for value, keys in words.items():
        if any(f" {k} " in padded for k in keys):
            return value
    return None


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_written(text: str, column: "Column", context: CheckContext) -> str:
    return text


def _full_name(text: str, column: "Column", context: CheckContext) -> str:
    return check_full_name(text)


def _birth_year(text: str, column: "Column", context: CheckContext) -> int:
    """A year, or a date of birth (its year)."""
    year = None
    if text:
        try:
            year = int(text)
        except ValueError:
            try:
                year = parse_date(text).year
            except ValueError:
                raise ValueError(_l("Birth year “%(value)s” is not a year.", value=text)) from None
    problem = birth_year_problem(year, now=context.now)
    if problem:
        raise ValueError(problem)
    return year


def _village(text: str, column: "Column", context: CheckContext) -> Village:
    if not text:
        raise ValueError(_l("The village is missing."))
    village = context.villages.get(fold(text))
    if village is None:
        raise ValueError(_l("Unknown village “%(value)s”.", value=text))
    return village


def _phone(text: str, column: "Column", context: CheckContext) -> str:
    # A "General" cell turns 0905123456 into the number 905123456: it gets its 0 back.
    phone = phone_or_none(text)
    if phone is None:
        raise ValueError(
            _l(
                "Phone number “%(value)s” is not a Vietnamese number: write its 10 digits, "
                "for example 0905 123 456.",
                value=_shorten(text),
            )
        )
    return phone


def _sex(text: str, column: "Column", context: CheckContext) -> str | None:
    if not text:
        return None
    sex = SEX_WORDS.get(fold(text))
    if sex is None:
        raise ValueError(_l("Sex “%(value)s”: write Nam or Nữ.", value=text))
    return sex


def _target_group(text: str, column: "Column", context: CheckContext) -> str:
    if not text:
        return TargetGroup.CITIZEN
    group = _pick(text, GROUP_WORDS)
    if group not in _TARGET_GROUPS:
        raise ValueError(
            _l(
                "Unknown target group “%(value)s” (use: %(choices)s).",
                value=text,
                choices=GROUP_EXAMPLES,
            )
        )
    return group


def _disability(text: str, column: "Column", context: CheckContext) -> str | None:
    folded = fold(text)
    if folded in NO:
        return None
    disability = _pick(text, DISABILITY_WORDS)
    if disability in _DISABILITY_TYPES:
        return disability
    if folded in YES:
        return DisabilityType.OTHER
    raise ValueError(
        _l(
            "Unknown disability type “%(value)s” (use: %(choices)s).",
            value=text,
            choices=DISABILITY_EXAMPLES,
        )
    )


def _yes_or_empty(text: str, column: "Column", context: CheckContext) -> bool:
    folded = fold(text)
    if folded in YES:
        return True
    if folded in NO:
        return False
    raise ValueError(_l("%(column)s: write Có or leave it empty.", column=column.header))


def _yes_or_date(text: str, column: "Column", context: CheckContext) -> tuple[bool, date | None]:
    """'Có' / 'x' / a date dd/mm/yyyy / empty -> (flag, date)."""
    folded = fold(text)
    if folded in NO:
        return False, None
    if folded in YES:
        return True, None
    try:
        return True, parse_date(text)
    except ValueError:
        raise ValueError(
            _l(
                "%(column)s: “%(value)s” is neither Có/Không nor a date dd/mm/yyyy.",
                column=column.header,
                value=text,
            )
        ) from None


def _consent_date(text: str, column: "Column", context: CheckContext) -> date | None:
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError:
        raise ValueError(
            _l("Consent date “%(value)s” is not a date dd/mm/yyyy.", value=text)
        ) from None


def _note(text: str, column: "Column", context: CheckContext) -> str:
    return text[:2000]


Parser = Callable[[str, "Column", CheckContext], object]


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as written in the template
    required: bool = False
    aliases: tuple[str, ...] = ()  # other headers people write (compared without accents)
    example: str = ""
    parse: Parser = _as_written  # the cell's text -> its value (ValueError: the problem)


COLUMNS = [
    Column(
        "full_name",
        "Họ và tên",
        True,
        ("ho ten", "ho va ten", "ten", "full name"),
        "Nguyễn Thị Hồng Nhung",
        _full_name,
    ),
    Column(
        "birth_year",
        "Năm sinh",
        True,
        ("nam sinh", "birth year", "ngay sinh"),
        "1958",
        _birth_year,
    ),
    Column("sex", "Giới tính", False, ("gioi tinh", "sex", "gender"), "Nữ", _sex),
    Column(
        "phone",
        "Số điện thoại",
        False,
        ("dien thoai", "sdt", "so dt", "phone"),
        "0905123456",
        _phone,
    ),
    Column(
        "village",
        "Thôn",
        True,
        ("thon", "thon/lang", "village", "lang"),
        "Thôn Ngọc Bay",
        _village,
    ),
    Column("household_code", "Mã hộ", False, ("ma ho", "ma ho gia dinh", "household"), "T7-011"),
    Column("poor_household", "Hộ nghèo", False, ("ho ngheo", "poor household"), "", _yes_or_empty),
    Column(
        "target_group",
        "Nhóm đối tượng",
        False,
        ("nhom doi tuong", "nhom", "group"),
        "Người dân",
        _target_group,
    ),
    Column("disability", "Khuyết tật", False, ("khuyet tat", "disability"), "", _disability),
    Column(
        "trader_farmer",
        "Tiểu thương/nông dân",
        False,
        ("tieu thuong/nong dan", "tieu thuong", "nong dan", "trader/farmer"),
        "Có",
        _yes_or_empty,
    ),
    Column(
        "ethnic_minority",
        "Dân tộc thiểu số",
        False,
        ("dan toc thieu so", "dtts", "ethnic minority"),
        "",
        _yes_or_empty,
    ),
    Column(
        "vneid_level2",
        "VNeID mức 2",
        False,
        ("vneid muc 2", "vneid", "dinh danh muc 2"),
        "12/03/2025",
        _yes_or_date,
    ),
    Column(
        "digital_signature",
        "Chữ ký số",
        False,
        ("chu ky so", "digital signature"),
        "",
        _yes_or_date,
    ),
    Column(
        "consent_on",
        "Ngày đồng ý xử lý dữ liệu",
        False,
        ("ngay dong y xu ly du lieu", "dong y xu ly du lieu", "consent"),
        "01/11/2025",
        _consent_date,
    ),
    Column("note", "Ghi chú", False, ("ghi chu", "note"), "", _note),
]

# The order a row's cells are checked in, so its problems are listed in this order (the
# template's order is another).
CHECK_ORDER = [
    next(c for c in COLUMNS if c.key == key)
    for key in (
        "full_name",
        "birth_year",
        "village",
        "phone",
        "sex",
        "target_group",
        "disability",
        "trader_farmer",
        "ethnic_minority",
        "poor_household",
        "vneid_level2",
        "digital_signature",
        "consent_on",
        "household_code",
        "note",
    )
]


TEXT_COLUMNS = {"phone", "household_code"}  # codes: formatted as text in the template

STALE_AFTER = timedelta(days=7)
SHEET_SLACK_ROWS = 1000

# --- reading the file -----------------------------------------------------------------------
#
# A spreadsheet is untrusted input. calamine (Rust, ten times faster than openpyxl on a
# 30,000-row sheet) builds the whole rectangle from A1 to the last cell in memory, so one
# cell at XFD1048576 in a 1 KB file would ask for ~550 GB, and a sheet's XML can be a zip
# bomb. So the archive is inspected first, within fixed bounds, and calamine only ever sees a
# sheet whose rectangle is small; the rows are then streamed and kept once, as text, in the
# batch (see :func:`stage`).

MAX_COLUMNS = 40  # A..AN: the template has 15 columns; room for a few of one's own
MAX_CELLS = 1_000_000  # cells written in the sheet (calamine keeps each, then the rectangle)
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024  # all parts of the .xlsx, decompressed
MAX_PART_BYTES = 50 * 1024 * 1024  # one part (the sheet, the shared strings)
MAX_PARTS = 500
MAX_CSV_LINE = 100_000  # characters in one line of a CSV file
_CHUNK = 1024 * 1024

# Cell positions as every mainstream writer puts them (Excel, LibreOffice, Google Sheets,
# openpyxl, xlsxwriter): ``<c r="B7" …>``, ``<row r="7" …>``, the position first.
_ATTRIBUTE = re.compile(rb' r="([^"]*)"')
# A column beyond AN, or a position that is not plain A1 style (an entity, a space, …).
_ODD_COLUMN = rb"[A-Z]{3}|[B-Z][A-Z]|A[O-Z]|(?![A-Z]{1,2}\d{1,9}\"|\d{1,9}\")"
# A cell or row without its position first, or with a namespace prefix.
_ODD_ELEMENT = re.compile(rb"<(?:c|row)[\t\n\r>/]")
_PREFIXED = re.compile(rb":(?:c|row)[\s>/]")


class FileProblem(DomainError):
    """The file as a whole cannot be read (not a row problem)."""


def _unreadable() -> FileProblem:
    return FileProblem(
        "file_unreadable", _l("This file could not be read as an Excel (.xlsx) file.")
    )


def _too_big() -> FileProblem:
    return FileProblem(
        "file_too_big",
        _l(
            "This Excel file is too large once unpacked. Delete the other sheets, pictures and "
            "empty rows, or save the list as CSV (UTF-8) and upload that."
        ),
    )


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


@functools.cache
def _out_of_bounds(max_rows: int) -> re.Pattern:
    """A regex matching a position in a column beyond :data:`MAX_COLUMNS` or written oddly
    (group 1), or in a row above ``max_rows`` (group 2): one pass over the sheet."""
    text = str(max_rows)
    options = [rf"[1-9]\d{{{len(text)},}}"]  # more digits
    for i, digit in enumerate(text):
        if digit != "9":
            rest = len(text) - i - 1
            options.append(f"{text[:i]}[{int(digit) + 1}-9]\\d{{{rest}}}")
    rows = "|".join(options)
    return re.compile(rb' r="(?:(' + _ODD_COLUMN + rb")|([A-Z]{0,3}0*(?:" + rows.encode() + b'))")')


def _first_sheet(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """The part holding the first sheet (the one calamine reads), from the workbook's list."""
    try:
        workbook = ElementTree.fromstring(_read_part(archive, "xl/workbook.xml"))
        rels = ElementTree.fromstring(_read_part(archive, "xl/_rels/workbook.xml.rels"))
        first = next(el for el in workbook.iter() if el.tag.endswith("}sheet"))
        rel_id = next(v for k, v in first.attrib.items() if k.endswith("}id"))
        target = next(el.get("Target") for el in rels if el.get("Id") == rel_id)
        name = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        return archive.getinfo(posixpath.normpath(name))
    except (StopIteration, KeyError, ElementTree.ParseError, TypeError, AttributeError) as error:
        raise _unreadable() from error


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes:
    """One part, decompressed within :data:`MAX_PART_BYTES` (zipfile stops at the size the
    archive declares, and a part that lies about it fails its CRC check)."""
    info = archive.getinfo(name)
    if info.file_size > MAX_PART_BYTES:
        raise _too_big()
    with archive.open(info) as part:
        data = part.read(MAX_PART_BYTES + 1)
    if len(data) > MAX_PART_BYTES:
        raise _too_big()
    return data


def _sheet_problem(xml: bytes, max_rows: int) -> None:
    """Raise when the sheet reaches beyond ``max_rows`` rows or :data:`MAX_COLUMNS` columns,
    or holds more than :data:`MAX_CELLS` cells (its <dimension> tag is not trusted)."""
    sheet_rows = max_rows + 1 + SHEET_SLACK_ROWS  # the header, a few blank lines at the end
    cells = xml.count(b"<c ")
    fast = (
        cells == xml.count(b'<c r="')
        and xml.count(b"<row ") == xml.count(b'<row r="')
        and not _ODD_ELEMENT.search(xml)
        and not _PREFIXED.search(xml)
    )
    # Every position is written out: one search for a position out of bounds, at the speed
    # of a regex with a literal prefix, rather than a Python loop over every cell.
    bounds = _out_of_bounds(sheet_rows)
    found = bounds.search(xml) if fast else None
    if not fast or (found and found[1] is not None):
        _sheet_problem_slow(xml, sheet_rows, max_rows)
        return
    if found:
        cell = re.search(b"<c" + bounds.pattern, xml)  # name the cell, rather than its row
        at = cell.start() + 2 if cell else found.start()
        _refuse_far(_ATTRIBUTE.match(xml, at)[1].decode("ascii", "replace")[:20], max_rows)
    if cells > MAX_CELLS:
        raise _too_big()


def _sheet_problem_slow(xml: bytes, sheet_rows: int, max_rows: int) -> None:
    """Position by position, as calamine counts them (a cell or row without ``r`` follows the
    one before it; element names may carry a namespace prefix)."""
    state = {"row": 0, "column": 0, "cells": 0}

    def start(tag, attrs):
        local = tag.rsplit(":", 1)[-1]
        if local == "row":
            r = attrs.get("r", "")
            state["row"] = int(r) if r.isdigit() and len(r) < 10 else state["row"] + 1
            state["column"] = 0
        elif local == "c":
            r = attrs.get("r")
            row = max(state["row"], 1)
            if r is None:
                state["column"] += 1
            else:
                match = re.fullmatch(r"([A-Z]{1,3})(\d{1,9})", r)
                if not match:
                    raise _unreadable()
                state["column"] = _column_number(match[1].encode())
                row = int(match[2])
            state["cells"] += 1
            if row > sheet_rows or state["column"] > MAX_COLUMNS:
                column = get_column_letter(min(max(state["column"], 1), 16384))
                _refuse_far(f"{column}{row}", max_rows)
            if state["cells"] > MAX_CELLS:
                raise _too_big()

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    try:
        parser.Parse(xml, True)
    except expat.ExpatError as error:
        raise _unreadable() from error


def _refuse_far(cell: str, max_rows: int) -> None:
    raise FileProblem(
        "sheet_too_wide",
        _l(
            "The sheet has cells far outside the list (as far as %(cell)s); at most "
            "%(rows)d rows and the columns A to AN are read. Delete the empty rows and columns "
            "below and to the right of the list (or copy the list into a new sheet), or save "
            "it as CSV (UTF-8), and upload it again."
        ),
        cell=cell,
        rows=max_rows,
    )


def _inspect_xlsx(content: bytes, max_rows: int) -> None:
    """Refuse, before calamine reads anything, an archive or a sheet too large to read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        parts = archive.infolist()
        if len(parts) > MAX_PARTS or sum(p.file_size for p in parts) > MAX_UNZIPPED_BYTES:
            raise _too_big()
        sheet = _first_sheet(archive)
        for part in parts:
            if part is sheet or part.is_dir():
                continue
            # Decompress every other part too (calamine reads the shared strings and the
            # styles whole): the sizes they declare are checked, not trusted.
            with archive.open(part) as stream:
                total = 0
                while chunk := stream.read(_CHUNK):
                    total += len(chunk)
                    if total > MAX_PART_BYTES:
                        raise _too_big()
        xml = _read_part(archive, sheet.filename)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as error:
        raise _unreadable() from error
    except (OSError, ValueError, RuntimeError) as error:  # e.g. an encrypted or broken part
        raise _unreadable() from error
    _sheet_problem(xml, max_rows)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean(str(value))


def _xlsx_rows(content: bytes, max_rows: int) -> Iterator[list[str]]:
    _inspect_xlsx(content, max_rows)
    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0)
        pad = [""] * sheet.start[1] if sheet.start else []
        rows = sheet.iter_rows()
    except Exception as error:  # calamine raises several error types for broken files
        raise _unreadable() from error
    for row in rows:
        yield pad + [_cell(v) for v in row]


def _csv_lines(text: str) -> Iterator[str]:
    for line in io.StringIO(text):
        if len(line) > MAX_CSV_LINE:
            raise FileProblem(
                "csv_line_too_long",
                _l(
                    "A line of the CSV file is longer than %(limit)d characters. Check that "
                    "it is a list of people with one person per line."
                ),
                limit=MAX_CSV_LINE,
            )
        yield line


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileProblem(
            "file_encoding",
            _l("The CSV file must be saved as UTF-8 (in Excel: “CSV UTF-8”)."),
        ) from error
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        for row in csv.reader(_csv_lines(text), dialect):
            yield [_cell(v) for v in row[:MAX_COLUMNS]]
    except csv.Error as error:  # e.g. a field longer than csv.field_size_limit()
        raise FileProblem(
            "file_unreadable_csv",
            _l(
                "This file could not be read as a CSV file (a cell is too long, or a quote "
                "is not closed). Open it in Excel and save it again as “CSV UTF-8”."
            ),
        ) from error


def _rows(filename: str, content: bytes, max_rows: int) -> Iterator[list[str]]:
    """Every row of the first sheet (or of the CSV file) as a list of cleaned strings."""
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        yield from _xlsx_rows(content, max_rows)
    elif lower.endswith(".csv"):
        yield from _csv_rows(content)
    else:
        raise FileProblem("file_type", _l("Upload an Excel (.xlsx) or CSV (.csv) file."))


def _header_map(header: list[str]) -> dict[str, int]:
    """Column key -> index, from the header row; raises when a required column is missing."""
    wanted = {}
    for column in COLUMNS:
        for name in (column.header, *column.aliases):
            wanted.setdefault(fold(name), column.key)
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        key = wanted.get(fold(title))
        if key and key not in found:
            found[key] = index
    missing = [c.header for c in COLUMNS if c.required and c.key not in found]
    if missing:
        raise FileProblem(
            "columns_missing",
            _l(
                "The first row must hold the column headers; missing: %(columns)s. "
                "Download the template to see them."
            ),
            columns=", ".join(missing),
        )
    return found


# --- checking rows --------------------------------------------------------------------------


@dataclass
class Row:
    """One data row: its line number in the file, what it says, and what is wrong with it."""

    line: int
    values: dict[str, str]
    data: PersonInput | None = None
    problems: list = field(default_factory=list)


@dataclass
class Report:
    rows: list[Row]

    @property
    def problem_rows(self) -> list[Row]:
        return [row for row in self.rows if row.problems]

    @property
    def good_count(self) -> int:
        return sum(1 for row in self.rows if not row.problems)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.problem_rows


def _village_index(commune_id: int) -> dict[str, Village]:
    index = {}
    for village in db.session.scalars(select(Village).where(Village.commune_id == commune_id)):
        folded = fold(village.name)
        index[folded] = village
        for prefix in ("thon ", "lang ", "buon ", "plei "):
            if folded.startswith(prefix):
                index.setdefault(folded[len(prefix) :], village)
    return index


def _when(value) -> date | None:
    """The date of a parsed cell: of a (flag, date) pair, or the date itself (None: none)."""
    return value[1] if isinstance(value, tuple) else value


def _future_date(values: dict, context: CheckContext):
    """Said once, whichever of the dates is in the future."""
    today = context.now.date()
    for key in ("vneid_level2", "digital_signature", "consent_on"):
        on = _when(values[key])
        if on is not None and on > today:
            return _l("A date cannot be in the future.")
    return None


def _household_code_length(values: dict, context: CheckContext):
    if len(values["household_code"]) > 40:
        return _l("The household code is too long (at most 40 characters).")
    return None


def _poor_household_code(values: dict, context: CheckContext):
    if values["poor_household"] and not values["household_code"]:
        return _l("Hộ nghèo needs the household number (Mã hộ).")
    return None


# The checks of several cells of a row, after those of each cell, in this order.
ROW_CHECKS = (_future_date, _household_code_length, _poor_household_code)


def _person_input(values: dict) -> PersonInput:
    vneid, vneid_on = values["vneid_level2"]
    signature, signature_on = values["digital_signature"]
    return PersonInput(
        full_name=values["full_name"],
        birth_year=values["birth_year"],
        village_id=values["village"].id,
        target_group=values["target_group"],
        household_code=values["household_code"],
        sex=values["sex"],
        phone=values["phone"],
        disability=values["disability"],
        trader_farmer=values["trader_farmer"],
        ethnic_minority=values["ethnic_minority"],
        vneid_level2=vneid,
        vneid_level2_on=vneid_on,
        digital_signature=signature,
        digital_signature_on=signature_on,
        consent_on=values["consent_on"],
        note=values["note"],
    )


def _check_row(row: Row, context: CheckContext) -> None:
    """Put the row's problems on it, or, when it has none, what it says (``row.data``)."""
    cells = row.values
    values = {}
    for column in CHECK_ORDER:
        try:
            values[column.key] = column.parse(cells.get(column.key, ""), column, context)
        except ValueError as problem:
            row.problems.append(problem.args[0])
            values[column.key] = None
    for row_check in ROW_CHECKS:
        problem = row_check(values, context)
        if problem:
            row.problems.append(problem)
    if not row.problems:
        row.data = _person_input(values)


def _check_against_registry(report: Report, commune_id: int, villages: dict) -> None:
    """Duplicates (of the registry and within the file) and households in another village."""
    good = [row for row in report.rows if row.data is not None]
    village_ids = {row.data.village_id for row in good}
    existing = (
        set(
            db.session.execute(
                select(Person.name_key, Person.birth_year, Person.village_id).where(
                    Person.village_id.in_(village_ids)
                )
            ).all()
        )
        if village_ids
        else set()
    )
    households = dict(
        db.session.execute(
            select(Household.code, Household.village_id).where(Household.commune_id == commune_id)
        ).all()
    )
    village_names = {v.id: v.name for v in villages.values()}
    in_file: dict[tuple, int] = {}
    file_households: dict[str, int] = {}
    for row in good:
        data = row.data
        key = (name_key(data.full_name), data.birth_year, data.village_id)
        if key in existing:
            row.problems.append(
                _l(
                    "%(name)s, born %(year)s, is already registered in %(village)s.",
                    name=data.full_name,
                    year=data.birth_year,
                    village=village_names[data.village_id],
                )
            )
        elif key in in_file:
            row.problems.append(_l("Same person as on line %(line)d.", line=in_file[key]))
        else:
            in_file[key] = row.line
        code = data.household_code
        if code:
            home = households.get(code, file_households.get(code))
            if home is not None and home != data.village_id:
                row.problems.append(_l("Household %(code)s belongs to another village.", code=code))
            file_households.setdefault(code, data.village_id)
    for row in good:
        if row.problems:
            row.data = None


def parse(filename: str, content: bytes, *, max_rows: int) -> dict:
    """The file's rows as text, read once: ``{"columns": [key, …], "rows": [[line, value,
    …], …]}`` (the values in the order of ``columns``; blank lines left out)."""
    # A few blank lines at the end are allowed for; beyond them the sheet is refused before
    # anything is read.
    rows = _rows(filename, content, max_rows)
    header = next(rows, None)
    if header is None:
        raise FileProblem("file_empty", _l("The file is empty."))
    columns = _header_map(header)
    parsed = []
    for line, cells in enumerate(rows, start=2):
        if not any(cells):
            continue  # blank lines are skipped silently
        if len(parsed) >= max_rows:
            raise FileProblem(
                "too_many_rows",
                _l("The file has more than %(limit)d rows; split it into several files."),
                limit=max_rows,
            )
        parsed.append([line, *(cells[i] if i < len(cells) else "" for i in columns.values())])
    if not parsed:
        raise FileProblem("file_no_rows", _l("The file has headers but no rows of people."))
    return {"columns": list(columns), "rows": parsed}


def check(batch: ImportBatch, *, now: datetime) -> Report:
    """Report every row's problems against the registry as it is now (writes nothing).

    The rows were read from the file once, at upload; the file is not read again.
    """
    parsed = batch.parsed_rows
    if parsed is None:  # uploaded before the rows were kept
        parsed = parse(
            batch.filename, batch.content, max_rows=current_app.config["IMPORT_MAX_ROWS"]
        )
    keys = parsed["columns"]
    villages = _village_index(batch.commune_id)
    context = CheckContext(villages=villages, now=now)
    report = Report(rows=[])
    for line, *values in parsed["rows"]:
        row = Row(line=line, values=dict(zip(keys, values, strict=True)))
        _check_row(row, context)
        report.rows.append(row)
    _check_against_registry(report, batch.commune_id, villages)
    return report


# --- the two steps --------------------------------------------------------------------------


def _require_importer(actor: User, commune_id: int) -> None:
    if actor.role not in MANAGERS or not actor.works_in(commune_id):
        raise DomainError(
            "not_allowed", _l("You may not import people into this commune."), status=403
        )


def prune_stale(*, now: datetime) -> int:
    """Drop uploaded files never imported within a week (they hold personal data)."""
    return db.session.execute(
        delete(ImportBatch).where(
            ImportBatch.committed_at.is_(None), ImportBatch.created_at < now - STALE_AFTER
        )
    ).rowcount


def stage(
    *, actor: User, now: datetime, commune_id: int, filename: str, content: bytes
) -> ImportBatch:
    """Read the uploaded file once and keep its rows for preview and commit (nothing else
    is written). Raises :class:`FileProblem` for a file that cannot be read."""
    _require_importer(actor, commune_id)
    filename = clean(filename).rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200] or "people"
    if not filename.lower().endswith((".xlsx", ".csv")):
        raise FileProblem("file_type", _l("Upload an Excel (.xlsx) or CSV (.csv) file."))
    if not content:
        raise FileProblem("file_empty", _l("The file is empty."))
    parsed = parse(filename, content, max_rows=current_app.config["IMPORT_MAX_ROWS"])
    prune_stale(now=now)
    batch = ImportBatch(
        token=secrets.token_urlsafe(32),
        commune_id=commune_id,
        uploaded_by_id=actor.id,
        filename=filename,
        content=content,
        parsed_rows=parsed,
        created_at=now,
    )
    db.session.add(batch)
    db.session.flush()
    return batch


def commit(*, actor: User, now: datetime, batch: ImportBatch) -> int:
    """Write every row of the batch, or nothing. Returns the number of persons written.

    The caller commits the transaction; on any error it must roll back.
    """
    _require_importer(actor, batch.commune_id)
    # Claim the batch first: a second click, or a second process, finds it taken.
    claimed = db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.committed_at.is_(None))
        .values(committed_at=now)
    ).rowcount
    if claimed != 1:
        raise DomainError(
            "import_already_committed", _l("This file has already been imported."), status=409
        )
    report = check(batch, now=now)
    if not report.ok:
        raise DomainError(
            "import_has_problems",
            _l(
                "%(count)d rows have problems; nothing was written. Correct the file and "
                "upload it again.",
                count=len(report.problem_rows),
            ),
        )
    households = dict(
        db.session.execute(
            select(Household.code, Household.id).where(Household.commune_id == batch.commune_id)
        ).all()
    )
    poor = {
        row.data.household_code
        for row in report.rows
        if fold(row.values.get("poor_household", "")) in YES
    }
    new_households = {}
    for row in report.rows:
        code = row.data.household_code
        if code and code not in households and code not in new_households:
            new_households[code] = {
                "commune_id": batch.commune_id,
                "village_id": row.data.village_id,
                "code": code,
                "address": "",
                "is_poor": code in poor,
            }
    existing_poor = [code for code in poor if code in households]
    if existing_poor:
        db.session.execute(
            update(Household)
            .where(Household.commune_id == batch.commune_id, Household.code.in_(existing_poor))
            .values(is_poor=True)
        )
    if new_households:
        db.session.execute(insert(Household.__table__), list(new_households.values()))
        households = dict(
            db.session.execute(
                select(Household.code, Household.id).where(Household.commune_id == batch.commune_id)
            ).all()
        )
    persons = []
    for row in report.rows:
        data = row.data
        name = clean(data.full_name)
        persons.append(
            {
                "commune_id": batch.commune_id,
                "village_id": data.village_id,
                "household_id": households.get(data.household_code),
                "full_name": name,
                "sort_key": name_sort_key(name),
                "name_key": name_key(name),
                "search_text": f"{fold(name)} {data.phone}".strip(),
                "birth_year": data.birth_year,
                "sex": data.sex,
                "phone": data.phone or None,
                "target_group": data.target_group,
                "disability": data.disability,
                "trader_farmer": data.trader_farmer,
                "ethnic_minority": data.ethnic_minority,
                "vneid_level2": data.vneid_level2,
                "vneid_level2_on": data.vneid_level2_on,
                "digital_signature": data.digital_signature,
                "digital_signature_on": data.digital_signature_on,
                "consent_on": data.consent_on,
                "consent_recorded_by_id": actor.id if data.consent_on else None,
                "note": data.note,
                "created_at": now,
                "updated_at": now,
            }
        )
    # Core insert: one statement per 1,000 rows. (The ORM's bulk insert splits the rows
    # wherever the set of NULL columns changes, which here meant one statement per few rows.)
    db.session.execute(insert(Person.__table__), persons)
    # A consent date read from the list: a consent recorded "from an imported list" (the
    # signed paper stays with the commune).
    from webapp.people import consent
    from webapp.people.privacy_models import ConsentMethod

    consent.record_dated(
        actor=actor, now=now, method=ConsentMethod.IMPORT, commune_id=batch.commune_id
    )
    # The people are in the registry now; no second copy of their data is kept.
    db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id)
        .values(rows_written=len(persons), content=b"", parsed_rows=None)
    )
    db.session.expire(batch)
    current_app.logger.info(
        "import %s: %d persons written by %s", batch.id, len(persons), actor.username
    )
    return len(persons)


# --- the template ---------------------------------------------------------------------------

#: What the template's drop-down offers for `Giới tính` (each one read by :func:`_sex`).
SEX_CHOICES = ("Nam", "Nữ")
DATE_COLUMNS = {"vneid_level2", "digital_signature", "consent_on"}  # dates, or Có
GUIDE_NOTES = {
    "birth_year": "Năm, 4 chữ số",
    "sex": "Nam hoặc Nữ (chọn trong danh sách)",
    "village": "Tên thôn như trong hệ thống (chọn trong danh sách: cột Các thôn)",
    "phone": "10 chữ số, ví dụ 0905123456 (cột đã để dạng Văn bản để giữ số 0 đầu)",
    "household_code": "Mã hộ của xã; người cùng mã hộ là một hộ",
    "target_group": GROUP_EXAMPLES + " (để trống: Người dân)",
    "disability": DISABILITY_EXAMPLES,
    "trader_farmer": "Có, hoặc để trống",
    "poor_household": "Có, hoặc để trống (cả hộ theo Mã hộ là hộ nghèo)",
    "ethnic_minority": "Có, hoặc để trống",
    "vneid_level2": "Ngày dd/mm/yyyy, hoặc Có, hoặc để trống",
    "digital_signature": "Ngày dd/mm/yyyy, hoặc Có, hoặc để trống",
    "consent_on": "Ngày dd/mm/yyyy",
}
_GUIDE_HEADERS = ["Cột", "Bắt buộc", "Ví dụ", "Cách ghi"]
_VILLAGE_LIST_COLUMN = len(_GUIDE_HEADERS) + 2  # one empty column after the notes
_LAST_ROW = 1_048_576  # Excel's last row: the drop-downs cover the whole column


def _example(column: Column):
    """The example as the cell it would be: a date cell for a date, a number for the year,
    text for codes (a phone number keeps its leading zero)."""
    if column.key in DATE_COLUMNS and column.example:
        return Styled(parse_date(column.example), DATE)
    if column.key == "birth_year":
        return int(column.example)
    if column.key in TEXT_COLUMNS:
        return Styled(column.example, TEXT)
    return column.example


def _drop_down(sheet, key: str, formula: str, *, strict: bool, prompt: str) -> None:
    """A drop-down list on the template's column ``key``, below the header."""
    letter = get_column_letter(next(i for i, c in enumerate(COLUMNS, 1) if c.key == key))
    # A village may also be written without "Thôn" (see _village_index): only a warning then.
    rule = DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="stop" if strict else "warning",
        errorTitle="Giá trị không có trong danh sách",
        error=prompt,
        showInputMessage=True,
        prompt=prompt,
    )
    rule.add(f"{letter}2:{letter}{_LAST_ROW}")
    sheet.add_data_validation(rule)


def template_xlsx(villages: Iterable[Village] = ()) -> bytes:
    """An empty sheet with the headers (drop-down lists for the sex and for ``villages``, the
    commune's villages), and a second sheet explaining each column and listing the villages."""
    names = list(dict.fromkeys(v.name for v in villages))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Danh sách"
    header_row = append(sheet, [c.header for c in COLUMNS])
    # Phone numbers and household numbers are codes, not quantities: in a "General" column
    # Excel turns 0905123456 into the number 905123456. Text format ("@") keeps the zero.
    # Whole columns are formatted (no cell is written below the header: the importer reads
    # every cell there is).
    for i, column in enumerate(COLUMNS, start=1):
        if column.key in TEXT_COLUMNS:
            sheet.column_dimensions[get_column_letter(i)].number_format = TEXT
            sheet.cell(row=1, column=i).number_format = TEXT
        elif column.key in DATE_COLUMNS:
            sheet.column_dimensions[get_column_letter(i)].number_format = DATE
    village_index = next(i for i, c in enumerate(COLUMNS, 1) if c.key == "village")
    hints = {i: [c.example] for i, c in enumerate(COLUMNS, start=1)}
    hints[village_index] += names
    format_table(sheet, header_row=header_row, hints=hints)
    _drop_down(sheet, "sex", f'"{",".join(SEX_CHOICES)}"', strict=True, prompt="Chọn Nam hoặc Nữ.")
    guide = book.create_sheet("Hướng dẫn")
    heading(guide, "Mỗi dòng là một người. Không ghi số CMND/CCCD.")
    append(guide, [])
    guide_header = append(guide, [*_GUIDE_HEADERS, None, "Các thôn" if names else None])
    for column in COLUMNS:
        required = "Có" if column.required else ""
        note = GUIDE_NOTES.get(column.key, "")
        append(guide, [column.header, required, _example(column), note])
    if names:
        for row, name in enumerate(names, start=guide_header + 1):
            put(guide, row, _VILLAGE_LIST_COLUMN, name)
        letter = get_column_letter(_VILLAGE_LIST_COLUMN)
        source = (
            f"'{guide.title}'!${letter}${guide_header + 1}:${letter}${guide_header + len(names)}"
        )
        _drop_down(sheet, "village", source, strict=False, prompt="Chọn thôn trong danh sách.")
    format_table(guide, header_row=guide_header, sortable=False, maximum=60)
    return to_bytes(book)


def template_csv() -> bytes:
    """The header row as UTF-8 CSV with a byte-order mark (so Excel shows the accents)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([c.header for c in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def describe(batch: ImportBatch) -> str:
    """'name.xlsx, 25/11/2026' for headings."""
    return f"{batch.filename}, {format_date(batch.created_at)}"
