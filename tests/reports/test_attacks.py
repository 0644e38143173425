"""Trying to break the reports as a user and an attacker would: scope (a village lead, an
organiser of another commune, trainers and mentors), markup and formulas in names, CSRF on
every POST, nonsense in every filter, the integrity of a submitted report, and what the
"who is left" list must not print."""

import csv
import io
import re
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.factories import NOW, make_household, make_person
from tests.reports.test_dashboard import _row, dash  # noqa: F401 (fixture)
from tests.reports.test_figures import DAY, certificate, fw, indicator, people  # noqa: F401
from webapp.extensions import db
from webapp.people.models import Commune, Village
from webapp.reports.models import Indicator, Population, Report

SCRIPT = '<script>alert("XSS")</script>'
IMG = "<img src=x onerror=alert(7)>"
FORMULA = '=HYPERLINK("http://e.vil","x")'
RAW = ("<script>alert(", "<img src=x onerror", "onerror=alert(7)>")
SECRETS = ("Bí Mật Thôn Hai", "T2-SECRET-77", "Người Xã Khác Kín", "KHAC-SECRET-9")
PHONE, LEARNER_CODE = "0912345678", "ZQ7X9K2M"


@pytest.fixture
def atk(dash):  # noqa: F811
    """The dashboard's world, plus: Thôn 1 households with markup and formulas for codes
    and people with such names (one with a phone and a learner code); a Thôn 2 household
    and person; a person of the other commune."""
    h_img = make_household(dash.v1, IMG)
    h_formula = make_household(dash.v1, FORMULA)
    h_plus = make_household(dash.v1, "+1+1")
    (_p1,) = people(dash.v1, SCRIPT, household=h_img, phone=PHONE, learner_code=LEARNER_CODE)
    people(dash.v1, FORMULA, household=h_formula)
    people(dash.v1, "@SUM(A1)", household=h_plus)
    h2 = make_household(dash.v2, "T2-SECRET-77")
    people(dash.v2, "Bí Mật Thôn Hai", household=h2)
    other = db.session.scalar(select(Commune).where(Commune.code == "KHAC"))
    other_village = other.villages[0]
    h3 = make_household(other_village, "KHAC-SECRET-9")
    (stranger,) = people(other_village, "Người Xã Khác Kín", household=h3)
    certificate(stranger, NOW - 2 * DAY, world=dash)
    db.session.commit()
    dash.other_id, dash.other_village_id = other.id, other_village.id
    return dash


def _submit(actions, period="2025-Q4"):
    return actions.post("/reports/submit", {"period": period}, token_from="/reports/submit")


def _text(response) -> str:
    """A response's text; for a workbook, the text of every part of the zip."""
    body = response.get_data()
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return body.decode("utf-8-sig", "replace")


def _reading_urls(w) -> list[str]:
    q = "year=2025"
    return [
        f"/reports?{q}",
        f"/reports/panels/trend?{q}",
        f"/reports/panels/activity?{q}",
        f"/reports/panels/learners?{q}",
        f"/reports/export.xlsx?{q}",
        f"/reports/export.csv?{q}",
        f"/reports/aggregates.csv?{q}",
        f"/reports/print?{q}",
        f"/reports/left/adults_basic?{q}&village={w.v1.id}",
    ]


# --- 1. scope -----------------------------------------------------------------------------


def test_a_village_lead_sees_only_their_village_whatever_the_query(atk, actions):
    actions.login("lead")
    tails = [
        "",
        f"&village={atk.v2.id}",
        f"&village={atk.other_village_id}",
        f"&commune={atk.other_id}",
        f"&commune={atk.commune_id}",
        f"&commune={atk.other_id}&village={atk.v2.id}",
    ]
    for url in [*_reading_urls(atk), f"/reports/left/adults_basic?year=2025&village={atk.v2.id}"]:
        for tail in tails:
            response = actions.client.get(url + tail)
            assert response.status_code in (200, 404), (url + tail, response.status_code)
            text = _text(response)
            for secret in SECRETS:
                assert secret not in text, (url + tail, secret)
    dashboard = actions.client.get("/reports?year=2025").get_data(as_text=True)
    assert "T1-001" in dashboard  # their village by household: the test is not vacuous
    left = actions.client.get(f"/reports/left/adults_basic?year=2025&village={atk.v2.id}")
    assert left.status_code == 404


def test_an_organiser_of_another_commune_gets_nothing_of_it(atk, actions):
    actions.login("organiser")
    assert _submit(actions).status_code == 302
    report_id = db.session.scalar(select(Report.id).where(Report.commune_id == atk.commune_id))
    actions.logout()
    actions.login("other_organiser")
    own = "Nguyễn Văn Đã Học", "T1-001", "Thôn 1"
    for url in _reading_urls(atk):
        for tail in (f"&commune={atk.commune_id}", f"&village={atk.v1.id}"):
            response = actions.client.get(url + tail)
            assert response.status_code in (403, 404), (url + tail, response.status_code)
            text = _text(response)
            assert not any(s in text for s in own), url + tail
    assert actions.client.get(f"/reports/submitted/{report_id}").status_code == 404
    listing = actions.client.get("/reports/submitted").get_data(as_text=True)
    assert "Quý 4/2025" not in listing
    reopen = f"/reports/submitted/{report_id}/reopen"
    response = actions.post(reopen, {"reason": "x"}, token_from="/reports/submitted")
    assert response.status_code in (403, 404)
    # a cell of another commune's village posted into one's grid is not written
    grid = "/reports/populations?year=2025"
    cells = {f"c{atk.v1.id}_citizen": "99", "year": "2025"}
    actions.post(grid, cells, token_from=grid)
    assert db.session.scalar(select(func.count(Population.id))) == 0
    db.session.expire_all()
    assert db.session.get(Report, report_id).status == "submitted"


@pytest.mark.parametrize("username", ["trainer", "mentor"])
def test_trainers_and_mentors_are_refused_everywhere(atk, actions, username):
    actions.login(username)
    urls = [
        *_reading_urls(atk),
        "/reports/submitted",
        "/reports/submit?period=2025-Q4",
        "/reports/populations?year=2025",
        "/reports/indicators?year=2025",
    ]
    for url in urls:
        assert actions.client.get(url).status_code == 403, url
    for url in ("/reports/submit", "/reports/populations", "/reports/indicators"):
        assert actions.post(url, {"period": "2025-Q4"}).status_code == 403, url
    assert db.session.scalar(select(func.count(Report.id))) == 0


# --- 2. markup and formulas ---------------------------------------------------------------


def _poison_names(w):
    db.session.get(Village, w.v1.id).name = FORMULA
    db.session.get(Village, w.v2.id).name = SCRIPT
    commune = db.session.get(Commune, w.commune_id)
    commune.committee_name = f"UBND {IMG}"
    commune.name = f"Xã {SCRIPT}"
    db.session.commit()


def _assert_escaped(html: str, where: str):
    for raw in RAW:
        assert raw not in html, (where, raw)


def test_markup_in_names_is_escaped_on_every_page(atk, actions):
    _poison_names(atk)
    actions.login("organiser")
    assert _submit(actions).status_code == 302
    report_id = db.session.scalar(select(Report.id))
    pages = [u for u in _reading_urls(atk) if "export" not in u and "aggregates" not in u]
    pages += [
        "/reports/submit?period=2025-Q4",
        f"/reports/submitted/{report_id}",
        "/reports/submitted",
        "/reports/populations?year=2025",
        f"/reports/panels/trend?year=2025&code={SCRIPT}",
    ]
    for who in ("organiser", "lead", "admin"):
        actions.logout()
        actions.login(who)
        for url in pages:
            response = actions.client.get(url)
            if response.status_code == 200:
                _assert_escaped(response.get_data(as_text=True), f"{who} {url}")
        htmx = actions.client.get(
            "/reports/panels/learners?year=2025", headers={"HX-Request": "true"}
        )
        _assert_escaped(htmx.get_data(as_text=True), f"{who} htmx")
    actions.logout()
    actions.login("organiser")
    dashboard = actions.client.get("/reports?year=2025").get_data(as_text=True)
    assert "<svg" in dashboard and "&lt;script&gt;" in dashboard  # the name is there, escaped
    actions.logout()
    actions.login("lead")
    left = actions.client.get(f"/reports/left/adults_basic?year=2025&village={atk.v1.id}")
    assert "&lt;img src=x onerror=alert(7)&gt;" in left.get_data(as_text=True)


def _workbook_has_no_formula(body: bytes, where: str):
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                xml = z.read(name).decode()
                assert not re.search(r"<f[ >]", xml), (where, name)
    book = openpyxl.load_workbook(io.BytesIO(body))
    seen = False
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (where, sheet.title, cell.coordinate, cell.value)
                seen = seen or (isinstance(cell.value, str) and "HYPERLINK" in cell.value)
    return seen


def _csv_is_neutral(text: str, where: str):
    seen = False
    for line in csv.reader(io.StringIO(text)):
        for cell in line:
            seen = seen or "HYPERLINK" in cell or "SUM(" in cell
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                try:
                    float(cell)
                except ValueError:
                    pytest.fail(f"{where}: formula-like cell {cell!r}")
    return seen


def test_formulas_in_names_never_run_in_a_spreadsheet(atk, actions):
    _poison_names(atk)
    actions.login("organiser")
    assert _submit(actions).status_code == 302
    for who, query in (("organiser", ""), ("lead", ""), ("admin", f"&commune={atk.commune_id}")):
        actions.logout()
        actions.login(who)
        book = actions.client.get(f"/reports/export.xlsx?year=2025{query}")
        assert book.status_code == 200
        assert _workbook_has_no_formula(book.get_data(), who)  # the name is in it, as text
        for url in ("/reports/export.csv", "/reports/aggregates.csv"):
            response = actions.client.get(f"{url}?year=2025{query}")
            assert response.status_code == 200
            assert _csv_is_neutral(response.get_data(as_text=True).lstrip("\ufeff"), who + url)


# --- 3. CSRF --------------------------------------------------------------------------------


def test_every_post_without_its_token_is_refused_and_writes_nothing(atk, actions):
    actions.login("organiser")
    bare = actions.client.post
    assert bare("/reports/submit", data={"period": "2025-Q4"}).status_code == 400
    assert db.session.scalar(select(func.count(Report.id))) == 0
    grid = {f"c{atk.v1.id}_citizen": "10", "year": "2025"}
    assert bare("/reports/populations?year=2025", data=grid).status_code == 400
    assert db.session.scalar(select(func.count(Population.id))) == 0
    ind = indicator("adults_basic")
    targets = {f"t{ind.id}": "95", f"d{ind.id}": "registry", "year": "2025"}
    assert bare("/reports/indicators?year=2025", data=targets).status_code == 400
    wrong = {**targets, "csrf_token": "forged"}
    assert bare("/reports/indicators?year=2025", data=wrong).status_code == 400
    assert db.session.scalar(select(func.count(Indicator.id)).where(Indicator.version > 1)) == 0
    assert _submit(actions).status_code == 302
    report_id = db.session.scalar(select(Report.id))
    actions.logout()
    actions.login("admin")
    url = f"/reports/submitted/{report_id}/reopen"
    assert bare(url, data={"reason": "CSRF"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Report, report_id).status == "submitted"


# --- 4. nonsense in the filters and forms -----------------------------------------------------

NONSENSE = [
    "9" * 25,
    "-1",
    "-99999999999999999999",
    "0",
    "1e9",
    "٣",
    "２０２５",
    "Thôn\x00 1",
    "\x00",
    "a" * 5000,
    "%00",
    "' OR 1=1 --",
    SCRIPT,
]


def test_nonsense_in_every_filter_is_never_a_server_error(atk, actions):
    actions.login("organiser")
    urls = {
        "/reports": ("year", "as_of", "village", "commune"),
        "/reports/panels/trend": ("year", "as_of", "village", "code"),
        "/reports/export.csv": ("year", "as_of", "village", "commune"),
        "/reports/print": ("as_of", "commune"),
        "/reports/left/adults_basic": ("year", "as_of", "village"),
        "/reports/submit": ("period",),
        "/reports/populations": ("year",),
        "/reports/indicators": ("year",),
    }
    for url, names in urls.items():
        for name in names:
            for value in NONSENSE:
                response = actions.client.get(url, query_string={name: value})
                assert response.status_code < 500, (url, name, value[:20])


@pytest.mark.parametrize("code", ["\x00", "a" * 5000, "Thôn 1", SCRIPT, "adults_basic\x00"])
def test_nonsense_as_the_code_of_who_is_left_is_not_found(atk, actions, code):
    actions.login("lead")
    response = actions.client.get(
        f"/reports/left/{code}", query_string={"year": "2025", "village": atk.v1.id}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("bad", ["1e9", "-1", "abc", "9" * 20, "1000001", "1,5", "\x00", "NaN"])
def test_a_bad_population_is_named_and_nothing_is_written(atk, actions, bad):
    actions.login("organiser")
    grid = "/reports/populations?year=2025"
    cells = {f"c{atk.v1.id}_citizen": "10", f"c{atk.v2.id}_citizen": bad, "year": "2025"}
    response = actions.post(grid, cells, token_from=grid)
    assert response.status_code == 422
    assert "Thôn 2, Người dân:" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Population.id))) == 0


@pytest.mark.parametrize("bad", ["101", "-5", "NaN", "inf", "-inf", "1e309", "abc", "\x00", ""])
def test_a_bad_target_is_refused_and_no_indicator_changes(atk, actions, bad):
    actions.login("organiser")
    page = "/reports/indicators?year=2025"
    ind, other = indicator("adults_basic"), indicator("adults_signature")
    data = {f"t{ind.id}": "95", f"d{ind.id}": "registry", f"t{other.id}": bad, "year": "2025"}
    for found in db.session.scalars(
        select(Indicator).where(Indicator.year == 2025, Indicator.replaced_at.is_(None))
    ):
        data.setdefault(f"t{found.id}", f"{found.target_pct:g}")
        if found.target_group:
            data.setdefault(f"d{found.id}", found.denominator)
    response = actions.post(page, data, token_from=page)
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Indicator.id)).where(Indicator.version > 1)) == 0


def test_a_denominator_that_is_not_a_choice_is_refused(atk, actions):
    actions.login("organiser")
    page = "/reports/indicators?year=2025"
    ind = indicator("adults_basic")
    data = {f"t{ind.id}": f"{ind.target_pct:g}", f"d{ind.id}": "everyone", "year": "2025"}
    for found in db.session.scalars(
        select(Indicator).where(Indicator.year == 2025, Indicator.replaced_at.is_(None))
    ):
        data.setdefault(f"t{found.id}", f"{found.target_pct:g}")
        if found.target_group:
            data.setdefault(f"d{found.id}", found.denominator)
    assert actions.post(page, data, token_from=page).status_code == 422
    assert db.session.scalar(select(func.count(Indicator.id)).where(Indicator.version > 1)) == 0


# --- 5. a submitted report ----------------------------------------------------------------------


def test_one_report_per_period_however_often_it_is_posted(atk, actions):
    actions.login("organiser")
    token = actions.csrf_token("/reports/submit")
    first = actions.client.post("/reports/submit", data={"period": "2025-Q4", "csrf_token": token})
    again = actions.client.post("/reports/submit", data={"period": "2025-q4", "csrf_token": token})
    assert (first.status_code, again.status_code) == (302, 409)
    assert db.session.scalar(select(func.count(Report.id))) == 1
    # two submissions racing past the check: the database keeps one
    found = db.session.scalar(select(Report))
    twin = Report(
        commune_id=found.commune_id,
        period=found.period,
        starts_on=found.starts_on,
        ends_on=found.ends_on,
        status="submitted",
        figures={},
        submitted_at=NOW,
        submitted_by_id=found.submitted_by_id,
    )
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_organiser_neither_reopens_nor_overwrites_a_submitted_report(atk, actions):
    actions.login("organiser")
    assert _submit(actions).status_code == 302
    found = db.session.scalar(select(Report))
    frozen, report_id = dict(found.figures), found.id
    url = f"/reports/submitted/{report_id}/reopen"
    assert actions.post(url, {"reason": "x"}, token_from="/reports/submitted").status_code == 403
    assert _submit(actions).status_code == 409
    db.session.expire_all()
    again = db.session.get(Report, report_id)
    assert (again.status, again.figures) == ("submitted", frozen)


def test_a_report_keeps_its_figures_and_target_after_later_changes(atk, actions, clock):
    actions.login("organiser")
    assert _submit(actions).status_code == 302
    report_id = db.session.scalar(select(Report.id))
    page = f"/reports/submitted/{report_id}"
    before = actions.client.get(page).get_data(as_text=True)
    frozen = _row(before, "adults_basic", "Thôn 1")
    assert frozen[:4] == ["1", "6", "16,7 %", "63,3 điểm"]
    clock.set(NOW + DAY)
    # a later certificate, someone moving village, a new target
    trained = make_person(atk.v1, "Người Mới Học", 1970)
    certificate(trained, NOW + DAY / 2, world=atk)
    mover = db.session.scalar(
        select(type(trained)).where(type(trained).full_name == "Nguyễn Văn Đã Học")
    )
    mover.village_id = atk.v2.id
    db.session.commit()
    targets = "/reports/indicators?year=2025"
    ind = indicator("adults_basic")
    data = {f"t{ind.id}": "95", f"d{ind.id}": ind.denominator, "year": "2025"}
    for found in db.session.scalars(
        select(Indicator).where(Indicator.year == 2025, Indicator.replaced_at.is_(None))
    ):
        data.setdefault(f"t{found.id}", f"{found.target_pct:g}")
        if found.target_group:
            data.setdefault(f"d{found.id}", found.denominator)
    assert actions.post(targets, data, token_from=targets).status_code == 302
    after = actions.client.get(page).get_data(as_text=True)
    assert _row(after, "adults_basic", "Thôn 1") == frozen
    assert _row(after, "adults_basic", "Thôn 2") == _row(before, "adults_basic", "Thôn 2")
    live = actions.client.get("/reports?year=2025").get_data(as_text=True)
    assert _row(live, "adults_basic", "Thôn 2")[:2] == ["1", "3"]  # the mover counts there now


# --- 6. the printed list ------------------------------------------------------------------------


def test_who_is_left_prints_no_phone_and_no_learner_code(atk, actions):
    actions.login("lead")
    response = actions.client.get(f"/reports/left/adults_basic?year=2025&village={atk.v1.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "&lt;script&gt;alert" in html  # that person is on the list
    assert PHONE not in html and LEARNER_CODE not in html
    for secret in SECRETS:
        assert secret not in html
