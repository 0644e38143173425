"""The foundation as a person uses it: log in, search people, import a list."""

import io
import re

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.browser.conftest import login
from tests.factories import make_household, make_person
from webapp.extensions import db
from webapp.people.models import Person, Village

pytestmark = pytest.mark.browser


@pytest.fixture
def registry(app, world):
    with app.app_context():
        v1, v2 = (db.session.get(Village, i) for i in world.village_ids)
        household = make_household(v1, "T1-007")
        make_person(v1, "Nguyễn Thị Hồng Nhung", 1958, household=household)
        make_person(v1, "Đặng Văn Ướt", 1949, household=household)
        for i in range(30):
            make_person(v2, f"Trần Văn Số{i:02d}", 1980)
        db.session.commit()


def person_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Person))


def test_log_in(page, world):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập Lớp Số")
    page.screens.shot("login")
    page.get_by_label("Tên đăng nhập").fill("organiser")
    page.get_by_label("Mật khẩu").fill("wrong password")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("alert")).to_contain_text("Sai tên đăng nhập hoặc mật khẩu")
    page.screens.shot("wrong-password")
    login(page, "organiser")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    expect(page.get_by_role("navigation", name="Trình đơn chính")).to_be_visible()
    page.screens.shot("home")


def test_search_people_as_you_type(page, registry):
    login(page, "organiser")
    page.goto("/people")
    rows = page.locator("#results")
    expect(rows).to_contain_text("Trần Văn Số00")
    # Typing without accents finds accented names; htmx swaps only the results.
    page.evaluate("window.loadedOnce = true")
    page.get_by_label("Tìm theo tên hoặc số điện thoại").press_sequentially("nhung", delay=40)
    expect(rows).to_contain_text("Nguyễn Thị Hồng Nhung")
    expect(rows).not_to_contain_text("Trần Văn Số00")
    assert page.evaluate("window.loadedOnce") is True, "the page was reloaded, not swapped"
    expect(page).to_have_url(re.compile(r"q=nhung"))
    page.screens.shot("search")
    page.get_by_role("link", name="Nguyễn Thị Hồng Nhung").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nguyễn Thị Hồng Nhung")
    page.screens.shot("person")
    page.get_by_role("link", name="T1-007").click()
    expect(page.locator("main")).to_contain_text("Đặng Văn Ướt")  # same household
    page.screens.shot("household")


def test_search_people_without_javascript(no_js_page, registry):
    page = no_js_page
    page.goto("/auth/login")
    page.get_by_label("Tên đăng nhập").fill("lead")
    page.get_by_label("Mật khẩu").fill("password-123")
    page.get_by_role("button", name="Đăng nhập").click()
    page.goto("/people")
    page.get_by_label("Tìm theo tên hoặc số điện thoại").fill("dang van uot")
    page.get_by_role("button", name="Tìm").click()
    expect(page.locator("#results")).to_contain_text("Đặng Văn Ướt")
    # The village lead of Thôn 1 never sees Thôn 2.
    page.goto("/people?q=tran")
    expect(page.locator("#results")).not_to_contain_text("Trần Văn Số")


def workbook(rows) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["Họ và tên", "Năm sinh", "Giới tính", "Thôn", "Mã hộ"])
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOD = [
    ["Lê Thị Mai", 1962, "Nữ", "Thôn 1", "T1-100"],
    ["Lê Văn Tùng", 1960, "Nam", "Thôn 1", "T1-100"],
    ["Y Hiên", 1990, "Nữ", "Thôn 2", ""],
]


def choose_file(page, name: str, content: bytes) -> None:
    page.get_by_label("Tệp (.xlsx hoặc .csv)").set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": content}]
    )
    page.get_by_role("button", name="Kiểm tra tệp").click()


def test_import_bad_file_writes_nothing_then_good_file_writes_all(app, page, world):
    login(page, "organiser")
    page.goto("/people/import")
    page.screens.shot("upload")
    choose_file(
        page, "mot-dong-loi.xlsx", workbook([*GOOD, ["Lê Văn Xa", 1850, "Nam", "Thôn 9", ""]])
    )
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Không có gì được ghi vào hệ thống")
    problems = page.locator("table.import-problems")
    expect(problems).to_contain_text("Lê Văn Xa")
    expect(problems).to_contain_text("Năm sinh 1850 không hợp lệ")
    expect(problems).to_contain_text("Không có thôn “Thôn 9”")
    expect(page.get_by_role("button", name=re.compile("Nhập tất cả"))).to_have_count(0)
    page.screens.shot("bad-file")
    assert person_count(app) == 0

    page.get_by_role("link", name="Tải lên tệp đã sửa").click()
    choose_file(page, "danh-sach.xlsx", workbook(GOOD))
    expect(page.locator("main")).to_contain_text("3 dòng hợp lệ, 0 dòng có lỗi")
    page.screens.shot("good-file")
    page.get_by_role("button", name="Nhập tất cả 3 người").click()
    expect(page.get_by_role("status").first).to_contain_text("3 người đã được thêm")
    page.screens.shot("imported")
    assert person_count(app) == 3
