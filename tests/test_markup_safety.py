"""Hostile text stays text: no value from data reaches a page as markup, a PDF or a spreadsheet
as anything but its literal characters (issue 12, point 1).

The reported attack: a spreadsheet cell ``<div hx-post="/users/new" hx-trigger="load">``
came back inside an import-preview message built with ``lazy_gettext(..., value=cell)``.
Flask-Babel's lazy strings declare ``__html__``, so Jinja trusted the interpolated cell as
markup and htmx sent the request with the page's CSRF header. Every message path is fed the
same payloads here; a lint over the source tree keeps the class from coming back.
"""

import ast
import csv
import io
import re
import shutil
import subprocess
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
from flask import render_template_string
from flask_babel import lazy_gettext
from sqlalchemy import func, select

from tests.factories import NOW, make_class, make_course, make_person, make_session, make_venue
from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.i18n import lazy_text
from webapp.people.models import Person, Village

ROOT = Path(__file__).resolve().parent.parent

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<div hx-post="/users/new" hx-trigger="load">',
    '"><svg onload=alert(1)>',
    "{{ 7*7 }}",
    "{% raw %}",
]
# Without spaces, for fields that split on them (competency codes).
HOSTILE_WORDS = [
    "<script>alert(1)</script>",
    "<img/src=x/onerror=alert(1)>",
    '<div/hx-post="/users/new"/hx-trigger="load">',
    '"><svg/onload=alert(1)>',
]
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)"]


class _Page(HTMLParser):
    """The elements, attributes and text of a page, as a browser would see them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def assert_inert(html: str, shown=()) -> None:
    """No element or attribute of the page came from a payload, and each of ``shown``
    appears as literal text (so ``{{ 7*7 }}`` is not 49 and ``<div …>`` is not a div)."""
    page = _Page()
    page.feed(html)
    for tag, attrs in page.tags:
        assert tag not in ("img", "svg", "iframe", "object", "embed"), (tag, attrs)
        assert tag != "script" or "src" in attrs, "an inline script on the page"
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert attrs.get("hx-trigger") != "load", (tag, attrs)
        assert "/users/new" not in (attrs.get("hx-post") or ""), (tag, attrs)
    text = "".join(page.text)
    for payload in shown:
        assert payload in text, f"{payload!r} is not shown as text"
    assert "<div hx-post" not in html and "<script>alert" not in html


# --- the helper ------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", HOSTILE)
def test_lazy_text_is_plain_text_in_a_template(app, payload):
    with app.test_request_context():
        message = lazy_text("Unknown village “%(value)s”.", value=payload)
        assert str(message).endswith(f"“{payload}”.")  # plain text outside HTML
        html = render_template_string("<p>{{ m }}</p><ul>{{ [m, m]|join(' ') }}</ul>", m=message)
        assert_inert(html, shown=[payload])


def test_flask_babels_lazy_string_is_what_was_trusted(app):
    """The cause, kept as a reminder: why ``lazy_gettext`` must not take parameters."""
    with app.test_request_context():
        html = render_template_string("{{ m }}", m=lazy_gettext("“%(v)s”", v="<b>"))
    assert "<b>" in html


def test_a_domain_error_message_is_plain_text(app):
    with app.test_request_context():
        error = DomainError("x", lazy_gettext("%(name)s is not enrolled."), name=HOSTILE[2])
        assert type(error.message) is str
        body, status = app.handle_user_exception(error)
        assert status == 400
        assert_inert(body, shown=[HOSTILE[2]])


# --- the lint over the source tree -----------------------------------------------------------

LAZY = {"lazy_gettext", "lazy_ngettext", "lazy_pgettext", "lazy_npgettext"}
# Places allowed to make markup, each with its reason.
MARKUP_ALLOWED = {
    "webapp/i18n.py": "LazyText.__html__ escapes the whole message",
    "webapp/qr.py": "inline_svg: SVG drawn by the qrcode library from path data, label escaped",
    "webapp/checkin/cards_views.py": "card_qr returns qr.inline_svg (see webapp/qr.py)",
}
TEMPLATE_ALLOWED: dict[str, str] = {}


def _python_files():
    for path in sorted((ROOT / "webapp").rglob("*.py")):
        if "migrations" not in path.parts:
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))


def _lazy_names(tree) -> set[str]:
    """The local names bound to Flask-Babel's lazy functions (``_l`` by habit)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("flask_babel"):
            names |= {a.asname or a.name for a in node.names if a.name in LAZY}
    return names


def test_no_flask_babel_lazy_string_takes_parameters():
    found = []
    for name, tree in _python_files():
        lazy = _lazy_names(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func_ = node.func
            called = (
                func_.id
                if isinstance(func_, ast.Name) and func_.id in lazy
                else func_.attr
                if isinstance(func_, ast.Attribute) and func_.attr in LAZY
                else None
            )
            if called and node.keywords:
                found.append(f"{name}:{node.lineno}")
    assert not found, f"use webapp.i18n.lazy_text for a lazy message with parameters: {found}"


def test_markup_is_made_only_where_allowed():
    found = []
    for name, tree in _python_files():
        for node in ast.walk(tree):
            made = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Markup"
            ) or (isinstance(node, ast.FunctionDef) and node.name == "__html__")
            imported = isinstance(node, ast.ImportFrom) and node.module == "markupsafe"
            if (made or imported) and name not in MARKUP_ALLOWED:
                found.append(f"{name}:{node.lineno}")
    assert not found, f"markup made outside the allow-list: {found}"


def test_no_template_turns_escaping_off():
    unsafe = re.compile(r"\|\s*safe\b|autoescape\s+false|\bMarkup\b|__html__")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if path.relative_to(ROOT).as_posix() not in TEMPLATE_ALLOWED
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if unsafe.search(line)
    ]
    assert not found, f"escaping turned off: {found}"


# --- the import preview ----------------------------------------------------------------------

HEADER = [
    "Họ và tên",
    "Năm sinh",
    "Giới tính",
    "Số điện thoại",
    "Thôn",
    "Mã hộ",
    "Nhóm đối tượng",
    "Khuyết tật",
    "VNeID mức 2",
    "Ngày đồng ý xử lý dữ liệu",
]


def _xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in [HEADER, *rows]:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _csv(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    return buffer.getvalue().encode("utf-8-sig")


def _upload(actions, content: bytes, filename: str):
    token = actions.csrf_token("/people/import")
    return actions.client.post(
        "/people/import",
        data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_cells_on_the_import_preview_are_text(app, actions, world, fmt, payload):
    """Every column hostile (name, year, sex, phone, village, household, group, disability,
    VNeID, consent): each message quoting a cell, and the table, show it as text."""
    actions.login("organiser")
    rows = [[payload] * len(HEADER), ["Lê Thị Mai", 1962, "Nữ", "", payload, "", "", "", "", ""]]
    content = _xlsx(rows) if fmt == "xlsx" else _csv(rows)
    response = _upload(actions, content, f"danh-sach-{fmt}.{fmt}")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    preview = actions.client.get(response.headers["Location"])
    html = preview.get_data(as_text=True)
    assert "Không có thôn" in html  # Unknown village “…”
    assert_inert(html, shown=[f"“{payload}”"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == len(world.users)


def test_hostile_file_name_on_the_preview_is_text(actions, world):
    actions.login("organiser")
    # Browsers send no '"' or '/' in an upload's name.
    name = "<svg onload=alert(1)><div hx-get=x hx-trigger=load>{{ 7*7 }}.xlsx"
    response = _upload(actions, _xlsx([["Lê Thị Mai", 1962, "Nữ", "", "Thôn 1"] + [""] * 5]), name)
    assert response.status_code == 302
    html = actions.client.get(response.headers["Location"]).get_data(as_text=True)
    assert_inert(html, shown=[name])


# --- form errors, flash messages, refusals ---------------------------------------------------


@pytest.mark.parametrize("payload", HOSTILE_WORDS)
def test_a_hostile_value_echoed_in_a_form_error_is_text(actions, world, payload):
    actions.login("organiser")
    response = actions.post(
        "/courses/new",
        {
            "title": "Zalo",
            "competency_codes": f"1.1, {payload}",
            "planned_hours": "2",
            "planned_sessions": "1",
        },
        token_from="/courses/new",
    )
    assert response.status_code in (400, 422)
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html
    assert_inert(html, shown=[f"“{payload}”"])


@pytest.mark.parametrize("payload", HOSTILE)
def test_flash_and_refusal_quoting_a_hostile_name_are_text(app, actions, world, payload):
    """The flash after registering a person, the person's page, and the refusal of the
    duplicate (a DomainError quoting the name) all show the name as typed."""
    actions.login("lead")
    data = {
        "full_name": f"Y {payload}",
        "birth_year": "1960",
        "village_id": world.village_ids[0],
        "target_group": "citizen",
    }
    created = actions.post("/people/new", data, token_from="/people/new", follow_redirects=True)
    assert created.status_code == 200
    with app.app_context():
        stored = db.session.scalar(select(Person.full_name))
    assert stored is not None and payload.strip() in stored
    assert_inert(created.get_data(as_text=True), shown=[stored])
    refused = actions.post("/people/new", data, token_from="/people/new")
    assert refused.status_code in (400, 409, 422)
    assert_inert(refused.get_data(as_text=True), shown=[stored])
    listed = actions.client.get("/people", headers={"HX-Request": "true"})
    assert_inert(listed.get_data(as_text=True), shown=[stored])


@pytest.mark.parametrize("payload", HOSTILE)
def test_a_flash_message_with_a_hostile_title_is_text(actions, world, payload):
    actions.login("organiser")
    response = actions.post(
        "/venues/new",
        {"name": payload, "village_id": world.village_ids[0], "address": "", "capacity": "20"},
        token_from="/venues/new",
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert_inert(response.get_data(as_text=True), shown=[f"“{payload}”"])


# --- the certificate PDF and the Excel exports -----------------------------------------------


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")
def test_a_hostile_name_on_a_certificate_is_printed_literally(tmp_path):
    from webapp.certificates import pdf

    snapshot = {
        "full_name": HOSTILE[2],
        "birth_year": 1962,
        "village": HOSTILE[1],
        "course": HOSTILE[0],
        "competencies": [{"code": "0.1", "name": HOSTILE[4]}],
        "hours": 2,
        "date_text": "Ngọk Bay, ngày 25 tháng 11 năm 2025",
        "committee": "UBND xã Ngọk Bay",
        "signer_title": "Chủ tịch",
        "signer_name": HOSTILE[5],
        "serial": "NGOKBAY-2025-000001",
        "framework_version": "0.1-draft",
    }
    path = tmp_path / "c.pdf"
    path.write_bytes(
        pdf.render([SimpleNamespace(snapshot=snapshot, verify_code="x" * 16)], base_url="https://e")
    )
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    text = " ".join(done.stdout.split())
    for payload in (HOSTILE[2], HOSTILE[0], HOSTILE[4], HOSTILE[5]):
        assert payload in text, payload
    assert "&lt;" not in text and "&#" not in text  # literal, not HTML-escaped either


def test_hostile_names_in_the_excel_exports_are_literal_text(app, world):
    from webapp.checkin import records
    from webapp.scheduling.models import CourseClass, Enrolment, EnrolmentStatus

    values = HOSTILE + FORMULAS
    with app.app_context():
        village = db.session.get(Village, world.village_ids[0])
        village.name = HOSTILE[2]
        trainer = db.session.get(User, world.users["trainer"])
        course = make_course(world.commune_id, world.users["organiser"])
        venue = make_venue(world.commune_id, HOSTILE[1], village_id=village.id)
        course_class = make_class(course, [trainer], name=FORMULAS[0])
        session = make_session(course_class, NOW - timedelta(days=1), venue=venue, topic=HOSTILE[0])
        for i, value in enumerate(values):
            person = make_person(village, value, 1950 + i)
            db.session.add(
                Enrolment(
                    course_class=course_class,
                    person_id=person.id,
                    status=EnrolmentStatus.ENROLLED,
                    since=NOW,
                )
            )
        db.session.commit()
        register = records.register_xlsx(records.session_register(session))
        grid = records.class_grid_xlsx(
            records.class_grid(db.session.get(CourseClass, course_class.id), now=NOW)
        )
    for body in (register, grid):
        sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
        cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
        texts = {c.value for c in cells}
        assert set(values) <= texts
        assert all(c.data_type == "s" for c in cells if c.value in values)
