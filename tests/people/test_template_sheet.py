"""The import template people fill in: drop-down lists for `Thôn` (the commune's villages) and
`Giới tính` (what the importer reads), date cells with a Vietnamese format in the guide, bold
headers, widths that fit the villages, A4 printing; and filled in from its own lists and
examples, it imports cleanly."""

import io
from datetime import date, datetime

import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from tests.factories import NOW
from webapp import spreadsheet
from webapp.extensions import db
from webapp.people import importer
from webapp.people.models import Person, Sex, Village

LONG_VILLAGE = "Thôn Đăk Xú Kon Plông Tê Xăng"


@pytest.fixture
def villages(organiser) -> list[Village]:
    """The organiser's commune's villages (Thôn 1, Thôn 2, and one with a long name)."""
    db.session.add(Village(commune_id=organiser.commune_id, name=LONG_VILLAGE, position=3))
    db.session.commit()
    return list(
        db.session.scalars(
            select(Village)
            .where(Village.commune_id == organiser.commune_id)
            .order_by(Village.position)
        )
    )


def _template(villages) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(importer.template_xlsx(villages)))


def _letter(key: str) -> str:
    return get_column_letter(next(i for i, c in enumerate(importer.COLUMNS, 1) if c.key == key))


def _validation(sheet, key: str):
    letter = _letter(key)
    [rule] = [
        dv
        for dv in sheet.data_validations.dataValidation
        if any(r.min_col == r.max_col == ord(letter) - 64 for r in dv.sqref.ranges)
    ]
    return rule


def _listed(book, rule) -> list[str]:
    """The values a list rule offers: inline ("a,b") or from a range of another sheet."""
    formula = rule.formula1
    if formula.startswith('"'):
        return formula.strip('"').split(",")
    sheet_name, cells = formula.rsplit("!", 1)
    sheet = book[sheet_name.strip("'")]
    return [c.value for (c,) in sheet[cells.replace("$", "")]]


def test_the_sex_and_village_columns_offer_drop_down_lists(villages):
    book = _template(villages)
    sheet = book["Danh sách"]
    sex = _validation(sheet, "sex")
    assert sex.type == "list" and sex.showErrorMessage and sex.errorStyle == "stop"
    assert str(sex.sqref) == f"{_letter('sex')}2:{_letter('sex')}1048576"
    assert _listed(book, sex) == ["Nam", "Nữ"]
    village = _validation(sheet, "village")
    assert village.type == "list" and village.allow_blank
    assert _listed(book, village) == ["Thôn 1", "Thôn 2", LONG_VILLAGE]
    assert str(village.sqref).startswith(f"{_letter('village')}2:")


def test_every_value_the_lists_offer_is_one_the_importer_reads(villages):
    context = importer.CheckContext({}, NOW)
    column = next(c for c in importer.COLUMNS if c.key == "sex")
    assert {importer._sex(v, column, context) for v in importer.SEX_CHOICES} == set(Sex)


def test_without_villages_there_is_no_village_list(organiser):
    sheet = _template([])["Danh sách"]
    assert [dv.formula1 for dv in sheet.data_validations.dataValidation] == ['"Nam,Nữ"']


def test_the_guide_shows_its_dates_as_date_cells(villages):
    guide = _template(villages)["Hướng dẫn"]
    examples = {row[0].value: row[2] for row in guide.iter_rows() if row[0].value}
    for header, day in [
        ("VNeID mức 2", date(2025, 3, 12)),
        ("Ngày đồng ý xử lý dữ liệu", date(2025, 11, 1)),
    ]:
        cell = examples[header]
        assert cell.is_date and isinstance(cell.value, datetime) and cell.value.tzinfo is None
        assert cell.value.date() == day and cell.number_format == "dd/mm/yyyy"
    phone = examples["Số điện thoại"]
    assert (phone.value, phone.data_type, phone.number_format) == ("0905123456", "s", "@")


def test_the_template_prints_with_bold_headers_and_fitting_columns(villages):
    book = _template(villages)
    sheet = book["Danh sách"]
    assert [c.value for c in sheet[1]] == [c.header for c in importer.COLUMNS]
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"
    width = sheet.column_dimensions[_letter("village")].width
    assert len(LONG_VILLAGE) <= width <= spreadsheet.MAX_WIDTH
    for key in importer.DATE_COLUMNS:  # a date typed in shows as dd/mm/yyyy
        assert sheet.column_dimensions[_letter(key)].number_format == "dd/mm/yyyy"
    assert sheet.max_row == 1  # nothing below the header for the importer to read
    guide = book["Hướng dẫn"]
    assert all(c.font.b for c in guide[3] if c.value)
    assert guide.column_dimensions["A"].width >= len("Ngày đồng ý xử lý dữ liệu")


def test_filled_in_from_its_lists_and_examples_the_template_imports(organiser, villages):
    book = _template(villages)
    sheet, guide = book["Danh sách"], book["Hướng dẫn"]
    examples = {row[0].value: row[2].value for row in guide.iter_rows(min_row=4) if row[0].value}
    offered = _listed(book, _validation(sheet, "village"))
    # The guide's example row, as it is (its dates are date cells), in a village of the list.
    example = [examples[c.header] for c in importer.COLUMNS]
    example[[c.key for c in importer.COLUMNS].index("village")] = offered[-1]
    sheet.append(example)
    for i, village in enumerate(offered):
        sex = importer.SEX_CHOICES[i % 2]
        sheet.append([f"Người Thứ {['Ba', 'Bốn', 'Năm'][i]}", 1970 + i, sex, "", village])
    buffer = io.BytesIO()
    book.save(buffer)
    batch = importer.stage(
        actor=organiser,
        now=NOW,
        commune_id=organiser.commune_id,
        filename="mau.xlsx",
        content=buffer.getvalue(),
    )
    report = importer.check(batch, now=NOW)
    assert report.ok, [(r.line, [str(p) for p in r.problems]) for r in report.problem_rows]
    assert importer.commit(actor=organiser, now=NOW, batch=batch) == 4
    db.session.commit()
    people = {p.full_name: p for p in db.session.scalars(select(Person))}
    nhung = people["Nguyễn Thị Hồng Nhung"]
    assert (nhung.village.name, nhung.sex, nhung.phone) == (LONG_VILLAGE, Sex.FEMALE, "0905123456")
    assert (nhung.vneid_level2_on, nhung.consent_on) == (date(2025, 3, 12), date(2025, 11, 1))
    assert [people[n].sex for n in ("Người Thứ Ba", "Người Thứ Bốn")] == [Sex.MALE, Sex.FEMALE]
    assert people["Người Thứ Năm"].village.name == LONG_VILLAGE


def test_the_downloaded_template_lists_the_users_communes_villages(actions, world):
    actions.login("organiser")
    response = actions.client.get("/people/import/template.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    offered = _listed(book, _validation(book["Danh sách"], "village"))
    assert offered == ["Thôn 1", "Thôn 2"]  # not the other commune's Thôn A
