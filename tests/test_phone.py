"""Vietnamese phone numbers: one canonical form, whichever entry point they come through
(spreadsheet import, the person form, the public sign-up form) and whichever way they are
typed; people search finds them however they are typed again."""

import io
from datetime import datetime

import openpyxl
import pytest
from sqlalchemy import select

from tests.conftest import CSRF_RE
from tests.factories import NOW, make_person
from tests.scheduling.test_signup_views import form as signup_form
from tests.scheduling.test_signup_views import path as signup_path
from tests.scheduling.test_signup_views import public_class  # noqa: F401 (a fixture)
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.people import importer, queries
from webapp.people.models import Person, Village
from webapp.phone import PhoneError, normalise_phone, phone_or_none
from webapp.scheduling.models import SignupRequest

# (typed, canonical form or None when it is not a Vietnamese number)
PHONES = [
    ("0905 123 456", "0905123456"),
    ("0905123456", "0905123456"),
    ("+84905123456", "0905123456"),
    ("+84 905 123 456", "0905123456"),
    ("84 905 123 456", "0905123456"),
    ("905123456", "0905123456"),  # a "General" Excel cell dropped the zero
    ("0905-123-456", "0905123456"),
    ("(0905) 123.456", "0905123456"),
    ("0386000111", "0386000111"),
    ("0255.3822.123", "02553822123"),  # landline, Quảng Ngãi
    ("2553822123", "02553822123"),
    ("+84 255 3822 123", "02553822123"),
    ("12345", None),
    ("abc", None),
    ("+1 555 1234", None),
    ("0905 123 456 7", None),
    ("0105123456", None),  # no such mobile prefix
    ("٠٩٠٥١٢٣٤٥٦", None),  # Arabic-Indic digits are digits, but not ours
    ("9" * 10_000, None),
]
VALID = [(typed, canonical) for typed, canonical in PHONES if canonical]
INVALID = [typed for typed, canonical in PHONES if canonical is None]


# --- webapp/phone.py --------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "canonical"), PHONES)
def test_normalise_phone(typed, canonical):
    if canonical is None:
        with pytest.raises(PhoneError):
            normalise_phone(typed)
        assert phone_or_none(typed) is None
    else:
        assert normalise_phone(typed) == canonical
        assert phone_or_none(typed) == canonical
        assert normalise_phone(canonical) == canonical, "idempotent"


@pytest.mark.parametrize("empty", [None, "", "   ", " - "])
def test_no_number_is_the_empty_string(empty):
    assert normalise_phone(empty) == "" and phone_or_none(empty) == ""


# --- the importer -----------------------------------------------------------------------------


@pytest.fixture
def organiser(app, world):
    with app.app_context():
        yield db.session.get(User, world.users["organiser"])


def _xlsx(phones) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Họ và tên", "Năm sinh", "Thôn", "Số điện thoại"])
    for i, phone in enumerate(phones):
        sheet.append([f"Người Thứ {chr(65 + i % 26)}{i}", 1960, "Thôn 1", phone])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _stage(organiser, content):
    batch = importer.stage(
        actor=organiser,
        now=NOW,
        commune_id=organiser.commune_id,
        filename="so-dien-thoai.xlsx",
        content=content,
    )
    db.session.commit()
    return batch


def test_import_stores_every_number_in_the_canonical_form(organiser):
    # Text cells as typed, plus the numbers Excel makes of "General" cells: int and float.
    cells = [typed for typed, _ in VALID] + [905123456, 905123456.0, 84905123456.0]
    expected = [canonical for _, canonical in VALID] + ["0905123456"] * 3
    batch = _stage(organiser, _xlsx(cells))
    report = importer.check(batch, now=NOW)
    assert report.ok, [(row.line, [str(p) for p in row.problems]) for row in report.problem_rows]
    assert importer.commit(actor=organiser, now=NOW, batch=batch) == len(cells)
    db.session.commit()
    stored = db.session.execute(select(Person.phone, Person.search_text).order_by(Person.id))
    for (phone, search_text), canonical in zip(stored, expected, strict=True):
        assert phone == canonical and search_text.endswith(canonical)


def test_import_flags_what_is_not_a_vietnamese_number(organiser):
    batch = _stage(organiser, _xlsx([*INVALID, 12345.0]))
    report = importer.check(batch, now=NOW)
    assert len(report.problem_rows) == len(INVALID) + 1 and report.good_count == 0
    for row in report.problem_rows:
        (message,) = [str(p) for p in row.problems]
        assert message.startswith("Số điện thoại “") and "10 chữ số" in message
        assert len(message) < 200, "a 10,000-character cell is shortened in the message"
    assert db.session.scalar(select(db.func.count()).select_from(Person)) == 0


def test_template_keeps_the_leading_zero_of_codes():
    book = openpyxl.load_workbook(io.BytesIO(importer.template_xlsx()))
    sheet, guide = book.worksheets
    keys = [c.key for c in importer.COLUMNS]
    for key in ("phone", "household_code"):
        letter = openpyxl.utils.get_column_letter(keys.index(key) + 1)
        assert sheet.column_dimensions[letter].number_format == "@", key
        assert sheet[f"{letter}1"].number_format == "@"
    # The guide's example column holds each value as its type (dates as dates): the phone as
    # text, its leading zero kept.
    examples = {row[0].value: row[2] for row in guide.iter_rows(min_row=2) if row[0].value}
    assert examples["Số điện thoại"].value == "0905123456"
    assert examples["Số điện thoại"].number_format == "@"


# --- the person form --------------------------------------------------------------------------


def _person_form(world, phone):
    return {
        "full_name": "Y Hoa",
        "birth_year": "1961",
        "village_id": world.village_ids[0],
        "target_group": "citizen",
        "phone": phone,
    }


@pytest.mark.parametrize(("typed", "canonical"), VALID)
def test_person_form_stores_the_canonical_number(actions, world, app, typed, canonical):
    actions.login("lead")
    response = actions.post("/people/new", _person_form(world, typed), token_from="/people/new")
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        person = db.session.scalars(select(Person)).one()
        assert person.phone == canonical and person.search_text.endswith(canonical)


@pytest.mark.parametrize("typed", INVALID)
def test_person_form_refuses_what_is_not_a_number(actions, world, app, typed):
    actions.login("lead")
    response = actions.post("/people/new", _person_form(world, typed), token_from="/people/new")
    assert response.status_code in (400, 422)
    assert 'href="#phone"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Person)) == 0


# --- the public sign-up form ------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "canonical"), VALID)
def test_signup_stores_the_canonical_number(client, public_class, app, world, typed, canonical):  # noqa: F811
    page = client.get(signup_path(public_class)).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    data = signup_form(world, phone=typed) | {"csrf_token": token}
    response = client.post(signup_path(public_class), data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(SignupRequest.phone)).one() == canonical


@pytest.mark.parametrize("typed", INVALID)
def test_signup_refuses_what_is_not_a_number(client, public_class, app, world, typed):  # noqa: F811
    page = client.get(signup_path(public_class)).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    data = signup_form(world, phone=typed) | {"csrf_token": token}
    response = client.post(signup_path(public_class), data=data)
    assert response.status_code in (400, 422)
    assert 'href="#phone"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(SignupRequest)) == 0


# --- search -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "0905123456",
        "0905 123 456",
        "+84 905 123 456",
        "84905123456",
        "905123456",
        "0905.123.456",
        "123 456",
        "Lan 0905123456",
        "lan +84905123456",
    ],
)
def test_search_finds_the_number_however_it_is_typed(app, world, typed):
    with app.app_context():
        village = db.session.get(Village, world.village_ids[0])
        make_person(village, "Y Lan", 1980, phone="0905123456")
        make_person(village, "Y Khác", 1980, phone="0912000111")
        db.session.commit()
        user = db.session.get(User, world.users["organiser"])
        stmt = queries.search_people(user, now=datetime.now(), text=typed)
        assert [p.full_name for p in db.session.scalars(stmt)] == ["Y Lan"]


# --- the data migration -----------------------------------------------------------------------


def test_migration_rewrites_stored_numbers_and_leaves_the_rest(tmp_path):
    import importlib.util
    from pathlib import Path

    from flask_migrate import upgrade
    from sqlalchemy import text

    from webapp import create_app

    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    stored = {1: "905123456", 2: "+84 905 123 457", 3: "12345", 4: "0905123458", 5: "2553822123"}
    with app.app_context():
        upgrade(revision="a5e4fast0004")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO communes (id, code, name, province, committee_name) "
                    "VALUES (1, 'X', 'Xã X', 'Quảng Ngãi', '')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO villages (id, commune_id, name, position) "
                    "VALUES (1, 1, 'Thôn 1', 0)"
                )
            )
            for pid, phone in stored.items():
                digits_ = "".join(c for c in phone if c.isdigit())
                conn.execute(
                    text(
                        "INSERT INTO persons (id, commune_id, village_id, full_name, sort_key, "
                        "name_key, search_text, birth_year, phone, target_group, trader_farmer, "
                        "ethnic_minority, vneid_level2, digital_signature, note, created_at, "
                        "updated_at) VALUES (:id, 1, 1, 'Y Lan', x'00', 'y lan', :search, 1960, "
                        ":phone, 'citizen', 0, 0, 0, 0, '', '2026-01-01', '2026-01-01')"
                    ),
                    {"id": pid, "phone": phone, "search": f"y lan {digits_}"},
                )
        upgrade(revision="b1import0001")
        with db.engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT phone, search_text FROM persons")).all())
        db.engine.dispose()
    assert rows == {
        "0905123456": "y lan 0905123456",
        "0905123457": "y lan 0905123457",
        "12345": "y lan 12345",
        "0905123458": "y lan 0905123458",
        "02553822123": "y lan 02553822123",
    }
    # The migration's frozen copy of the rule agrees with webapp/phone.py today.
    folder = Path(__file__).resolve().parent.parent / "webapp" / "migrations" / "versions"
    (path,) = folder.glob("*_b1import0001_*.py")
    spec = importlib.util.spec_from_file_location("b1import0001", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    for typed, canonical in PHONES:
        assert migration._normalise(typed) == canonical, typed
