"""Writing spreadsheets that open, whatever is stored: one sanitiser for every cell.

Text typed by anybody (public sign-ups) or kept from before input was cleaned may hold
characters that the .xlsx format cannot carry — openpyxl refuses C0 controls with
``IllegalCharacterError`` — or look like a formula ("=HYPERLINK(…)") that a spreadsheet would
run. Every row goes through :func:`append`; every book is written by :func:`to_bytes`.
"""

import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

from webapp.text import strip_unwanted

FORMULA_STARTS = ("=", "+", "-", "@")


def cell_value(value):
    """``value`` as it can be stored in a cell: text without the characters .xlsx refuses
    (and the invisible ones :func:`webapp.text.strip_unwanted` drops); other values as they are."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", strip_unwanted(value))
    return value


def append(sheet: Worksheet, values: Iterable) -> None:
    """Add a row of sanitised values; text that starts like a formula stays text."""
    row = [cell_value(v) for v in values]
    sheet.append(row)
    for column, value in enumerate(row, start=1):
        if isinstance(value, str) and value[:1] in FORMULA_STARTS:
            # A spreadsheet must never run what a visitor wrote.
            sheet.cell(sheet.max_row, column).data_type = "s"


def to_bytes(book: Workbook) -> bytes:
    """The book as .xlsx bytes."""
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
