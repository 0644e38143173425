"""The reported attack, in a real browser with htmx loaded: an organiser previews a file
whose cells are markup (issue 12, point 1). The preview must send nothing, open no dialog,
and no account may be created behind the organiser's back."""

import io
import json
import re
from urllib.parse import urlsplit

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.browser.conftest import login
from webapp.accounts.models import User
from webapp.config import HTMX_URL
from webapp.extensions import db

pytestmark = pytest.mark.browser


def hostile_workbook(commune_id: int) -> bytes:
    account = {
        "username": "ke.gian",
        "full_name": "Kẻ Gian",
        "password": "mat-khau-ke-gian-1",
        "confirm": "mat-khau-ke-gian-1",
        "role": "trainer",  # what an organiser may create (an admin: any role)
        "commune_id": str(commune_id),
    }
    attack = (
        f'<div hx-post="/users/new" hx-trigger="load" hx-vals=\'{json.dumps(account)}\'>'
        "Thôn 1</div>"
    )
    cells = [
        attack,
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        '"><svg onload=alert(1)>',
        '<a hx-get="/people" hx-trigger="load">x</a>',
        "{{ 7*7 }}",
    ]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Họ và tên", "Năm sinh", "Giới tính", "Thôn", "Mã hộ"])
    for cell in cells:
        sheet.append([cell, cell, cell, cell, cell])  # name, year, sex, village, household
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_the_preview_of_a_hostile_file_sends_nothing(app, page, world, live_server):
    before = user_count(app)
    login(page, "organiser")
    page.goto("/people/import")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    requests: list[tuple[str, str, str]] = []
    page.on("request", lambda r: requests.append((r.method, r.resource_type, r.url)))

    page.get_by_label("Tệp (.xlsx hoặc .csv)").set_input_files(
        files=[
            {
                "name": "danh-sach.xlsx",
                "mimeType": "application/octet-stream",
                "buffer": hostile_workbook(world.commune_id),
            }
        ]
    )
    page.get_by_role("button", name="Kiểm tra tệp").click()
    page.wait_for_url(re.compile(r"/people/import/[^/]+$"), wait_until="domcontentloaded")
    preview_url = page.url
    page.wait_for_function("window.htmx !== undefined")  # htmx is loaded and has run
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1000)  # an hx-trigger="load" fires at once; leave time anyway
    page.screens.shot("hostile-preview")

    start = next(i for i, r in enumerate(requests) if r[2] == preview_url and r[0] == "GET")
    after = requests[start + 1 :]
    own_assets = [
        r
        for r in after
        if r[0] == "GET"
        and r[1] in ("stylesheet", "script", "font", "image")
        and (r[2] == HTMX_URL or urlsplit(r[2]).path.startswith("/static/"))
    ]
    favicon = [r for r in after if urlsplit(r[2]).path == "/favicon.ico"]
    sent = [r for r in after if r not in own_assets and r not in favicon]
    assert not sent, f"the preview page sent requests: {sent}"
    assert not dialogs, f"a dialog opened: {dialogs}"
    assert user_count(app) == before
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "ke.gian")) is None

    problems = page.locator("table.import-problems")
    expect(problems).to_contain_text('<div hx-post="/users/new"')
    expect(problems).to_contain_text("<img src=x onerror=alert(1)>")
    expect(problems).to_contain_text("{{ 7*7 }}")
    assert page.locator("table.import-problems img, table.import-problems svg").count() == 0
    assert page.locator("main [hx-post], main [hx-get], main script").count() == 0
