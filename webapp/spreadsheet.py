"""Writing spreadsheets that open, sort and print, whatever is stored.

One sanitiser for every cell: text typed by anybody (public sign-ups) or kept from before input
was cleaned may hold characters that the .xlsx format cannot carry — openpyxl refuses C0
controls with ``IllegalCharacterError`` — or look like a formula ("=HYPERLINK(…)") that a
spreadsheet would run. Every row goes through :func:`append` (a lone cell through
:func:`put`); every book is written by :func:`to_bytes`.

Dates and times are real cells, so a column sorts by date and not by text ("02/12" before
"30/11"): aware datetimes become Vietnam local time without a time zone (Excel stores none),
with a Vietnamese number format (:data:`DATE`, :data:`TIME`, :data:`DATETIME`, or another one
given with :class:`Styled`). A table is finished by :func:`format_table`: bold header, the
panes frozen under it, columns as wide as their content, A4 landscape fitted to the width of
the paper with the header repeated on every page.
"""

import io
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Any, NamedTuple

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from webapp.text import strip_unwanted
from webapp.timeutil import to_local

FORMULA_STARTS = ("=", "+", "-", "@")

#: Vietnamese number formats of date and time cells.
DATE = "dd/mm/yyyy"
TIME = "hh:mm"
DATETIME = "dd/mm/yyyy hh:mm"
TEXT = "@"

#: Column widths, in characters of the default font: from the content, within these bounds.
MIN_WIDTH = 5
MAX_WIDTH = 45
_PADDING = 2
_BOLD_FACTOR = 1.1  # bold letters are wider

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
UPRIGHT = 90  # text rotation of a header written bottom to top (a narrow column of marks)
_LINE = 1.5  # the width, in characters, that an upright line of text takes
_POINTS_PER_CHARACTER = 7  # the height an upright bold character takes


class Styled(NamedTuple):
    """A value with the number format its cell shows it in (e.g. a datetime shown as
    :data:`TIME`), for :func:`append` and :func:`put`."""

    value: Any
    number_format: str | None


def cell_value(value):
    """``value`` as it can be stored in a cell: text without the characters .xlsx refuses
    (and the invisible ones :func:`webapp.text.strip_unwanted` drops); an aware datetime in
    Vietnam local time without its time zone (a naive one is taken as local already); other
    values as they are."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", strip_unwanted(value))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return to_local(value).replace(tzinfo=None)
    return value


def _default_format(value) -> str | None:
    if isinstance(value, datetime):
        return DATETIME
    if isinstance(value, date):
        return DATE
    if isinstance(value, time):
        return TIME
    return None


def _finish(cell: Cell, given: Styled, font: Font | None) -> None:
    """Style a cell just written: its number format, its font; text that looks like a
    formula stays text (a spreadsheet must never run what a visitor wrote)."""
    value = cell.value
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        cell.data_type = "s"
    number_format = given.number_format or _default_format(value)
    if number_format:
        cell.number_format = number_format
    if font is not None and value is not None:
        cell.font = font


def append(sheet: Worksheet, values: Iterable, *, font: Font | None = None) -> int:
    """Add a row of sanitised values (a :class:`Styled` value gets its number format, a date
    or time a Vietnamese one); text that starts like a formula stays text. Returns the row's
    number."""
    styled = [v if isinstance(v, Styled) else Styled(v, None) for v in values]
    sheet.append([cell_value(v.value) for v in styled])
    number = sheet._current_row  # the row just written, even an empty one
    for column, given in enumerate(styled, start=1):
        if given.value is not None or given.number_format or font:
            _finish(sheet.cell(number, column), given, font)
    return number


def put(sheet: Worksheet, row: int, column: int, value) -> Cell:
    """Write one sanitised value, as :func:`append` writes a row's."""
    given = value if isinstance(value, Styled) else Styled(value, None)
    cell = sheet.cell(row, column, cell_value(given.value))
    _finish(cell, given, None)
    return cell


def heading(sheet: Worksheet, text: str) -> int:
    """A heading line above a table (bold, larger); its number."""
    return append(sheet, [text], font=TITLE)


# --- widths ---------------------------------------------------------------------------------

_QUOTED = re.compile(r'"([^"]*)"')


def shown_length(value, number_format: str = "General") -> int:
    """About how many characters a cell shows: its longest line for text, its number format's
    length for a date or time (``dd/mm/yyyy`` → 10), the digits of a number."""
    if value is None:
        return 0
    if isinstance(value, (datetime, date, time)):
        return len(_QUOTED.sub(r"\1", number_format).replace("\\", ""))
    if isinstance(value, bool):
        return 5
    if isinstance(value, (int, float)):
        if number_format.endswith("%"):
            return len(f"{value * 100:.0f}") + 1
        if number_format.startswith("0."):
            return len(f"{value:.{len(number_format) - 2}f}")
        return len(f"{value:g}")
    return max((len(line) for line in str(value).splitlines()), default=0)


def _width(cell: Cell) -> float:
    if cell.alignment.textRotation == UPRIGHT:
        return _LINE
    length = shown_length(cell.value, cell.number_format)
    return length * _BOLD_FACTOR if cell.font and cell.font.b else length


def fit_columns(
    sheet: Worksheet,
    *,
    from_row: int = 1,
    hints: Mapping[int, Iterable] | None = None,
    maximum: int = MAX_WIDTH,
) -> None:
    """Every column as wide as its longest content from ``from_row`` down (rows above, such
    as a title, may run over), and as the ``hints`` (column number → values the column will
    hold, e.g. the villages of an empty template), within :data:`MIN_WIDTH` … ``maximum``;
    text longer than that wraps."""
    widths: dict[int, float] = {}
    for row in sheet.iter_rows(min_row=from_row):
        for cell in row:
            if cell.value is not None:
                widths[cell.column] = max(widths.get(cell.column, 0), _width(cell))
    for column, values in (hints or {}).items():
        longest = max((shown_length(v) for v in values), default=0)
        widths[column] = max(widths.get(column, 0), longest)
    for column, width in widths.items():
        fitted = min(maximum, max(MIN_WIDTH, round(width + _PADDING)))
        sheet.column_dimensions[get_column_letter(column)].width = fitted
        if width + _PADDING > maximum:
            for (cell,) in sheet.iter_rows(min_row=from_row, min_col=column, max_col=column):
                cell.alignment = Alignment(
                    horizontal=cell.alignment.horizontal, vertical="top", wrap_text=True
                )


# --- a finished table -----------------------------------------------------------------------


def print_on_a4(sheet: Worksheet, *, header_row: int | None = None, landscape: bool = True):
    """A4, fitted to the width of the paper (as many pages down as needed), the header row
    repeated on every page, page numbers in the footer."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.print_options.horizontalCentered = True
    if header_row is not None:
        sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.oddFooter.center.text = "Trang &P / &N"


def format_table(
    sheet: Worksheet,
    *,
    header_row: int,
    last_row: int | None = None,
    freeze_column: int = 1,
    hints: Mapping[int, Iterable] | None = None,
    landscape: bool = True,
    sortable: bool = True,
    maximum: int = MAX_WIDTH,
) -> None:
    """Finish the table whose header is ``header_row``: bold header (a header cell aligned
    :data:`UPRIGHT` stays upright, its column narrow, its row tall), panes frozen under it
    (and left of ``freeze_column``), when ``sortable`` a sort-and-filter button on each header
    cell down to ``last_row`` (the rows below it, such as totals, stay put), widths from the
    content (:func:`fit_columns`), and A4 printing (:func:`print_on_a4`)."""
    upright = 0
    for cell in sheet[header_row]:
        if cell.value is not None:
            cell.font = BOLD
            rotation = cell.alignment.textRotation
            cell.alignment = Alignment(
                horizontal=cell.alignment.horizontal,
                vertical="center" if rotation != UPRIGHT else "bottom",
                wrap_text=rotation != UPRIGHT,
                textRotation=rotation,
            )
            if rotation == UPRIGHT:
                upright = max(upright, shown_length(cell.value, cell.number_format))
    if upright:  # a header row as tall as its longest upright header
        sheet.row_dimensions[header_row].height = upright * _POINTS_PER_CHARACTER + 8
    # By name: sheet.cell() would write an empty cell (an import template must have none).
    sheet.freeze_panes = f"{get_column_letter(freeze_column)}{header_row + 1}"
    last_column = get_column_letter(max(sheet.max_column, 1))
    last_row = last_row if last_row is not None else sheet.max_row
    if sortable and last_row > header_row:
        sheet.auto_filter.ref = f"A{header_row}:{last_column}{last_row}"
    fit_columns(sheet, from_row=header_row, hints=hints, maximum=maximum)
    print_on_a4(sheet, header_row=header_row, landscape=landscape)


def to_bytes(book: Workbook) -> bytes:
    """The book as .xlsx bytes."""
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
