"""The shared spreadsheet helpers every export uses (webapp/spreadsheet.py): dates and times
become local date/time cells with Vietnamese formats, widths follow the content within
bounds, tables print on A4."""

import io
from datetime import UTC, date, datetime, time

import openpyxl

from webapp import spreadsheet
from webapp.spreadsheet import Styled, append, cell_value, fit_columns, format_table, to_bytes


def _read_back(book) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(to_bytes(book)))


def test_an_aware_datetime_becomes_vietnam_local_time_without_a_time_zone():
    at = datetime(2025, 11, 19, 23, 30, tzinfo=UTC)
    assert cell_value(at) == datetime(2025, 11, 20, 6, 30)
    assert cell_value(at).tzinfo is None
    naive = datetime(2025, 11, 20, 6, 30)  # taken as local already
    assert cell_value(naive) == naive


def test_dates_and_times_are_cells_with_vietnamese_formats():
    book = openpyxl.Workbook()
    at = datetime(2025, 11, 19, 23, 30, tzinfo=UTC)
    append(book.active, [at, date(2025, 11, 20), time(6, 30), Styled(at, "hh:mm"), "=1+1", 3])
    cells = list(_read_back(book).active[1])
    assert [c.number_format for c in cells[:4]] == [
        "dd/mm/yyyy hh:mm",
        "dd/mm/yyyy",
        "hh:mm",
        "hh:mm",
    ]
    assert all(c.is_date for c in cells[:4])
    assert cells[0].value == cells[3].value == datetime(2025, 11, 20, 6, 30)
    assert (cells[4].value, cells[4].data_type) == ("=1+1", "s")  # never run
    assert cells[5].number_format == "General"


def test_append_returns_the_row_it_wrote_even_after_an_empty_one():
    sheet = openpyxl.Workbook().active
    assert append(sheet, ["a"]) == 1
    assert append(sheet, []) == 2
    assert append(sheet, ["b"]) == 3


def test_widths_follow_the_content_within_bounds():
    sheet = openpyxl.Workbook().active
    append(sheet, ["Họ và tên", "Ngày", "Tỉ lệ", "STT"])
    append(sheet, ["Tôn Nữ Thị Hoàng Phương Thảo Nguyên", date(2025, 11, 20), Styled(0.5, "0%"), 1])
    append(sheet, ["Nguyễn " * 20, None, None, 2])
    fit_columns(sheet)
    widths = {k: sheet.column_dimensions[k].width for k in "ABCD"}
    assert widths["A"] == spreadsheet.MAX_WIDTH  # capped: the long one wraps
    assert sheet["A3"].alignment.wrap_text
    assert 10 <= widths["B"] <= 14  # dd/mm/yyyy
    assert widths["D"] == spreadsheet.MIN_WIDTH
    fit_columns(sheet, from_row=2, hints={4: ["Một giá trị dài"]})
    assert sheet.column_dimensions["D"].width >= len("Một giá trị dài")


def test_a_finished_table_has_a_bold_frozen_header_and_prints_on_a4():
    book = openpyxl.Workbook()
    sheet = book.active
    spreadsheet.heading(sheet, "Tiêu đề dài hơn mọi cột của bảng rất nhiều lần")
    header = append(sheet, ["Họ và tên", "Thôn"])
    append(sheet, ["Lê Thị Ánh", "Thôn 2"])
    append(sheet, ["Tổng", 1])
    format_table(sheet, header_row=header, last_row=3)
    sheet = _read_back(book).active
    assert all(c.font.b for c in sheet[header]) and sheet["A1"].font.b
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == "A2:B3"  # the totals below stay in place
    assert sheet.column_dimensions["A"].width < 20  # the heading above may run over
    assert sheet.page_setup.orientation == "landscape"
    assert str(sheet.page_setup.paperSize) == str(sheet.PAPERSIZE_A4)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    assert sheet.print_title_rows == "$2:$2"


def test_put_writes_one_cell_as_append_writes_a_row():
    book = openpyxl.Workbook()
    spreadsheet.put(book.active, 2, 3, '=HYPERLINK("http://evil.example")\x07')
    spreadsheet.put(book.active, 3, 3, datetime(2025, 11, 19, 23, 30, tzinfo=UTC))
    sheet = _read_back(book).active
    assert (sheet["C2"].value, sheet["C2"].data_type) == ('=HYPERLINK("http://evil.example")', "s")
    assert (sheet["C3"].value, sheet["C3"].number_format) == (
        datetime(2025, 11, 20, 6, 30),
        "dd/mm/yyyy hh:mm",
    )
