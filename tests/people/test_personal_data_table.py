"""docs/personal-data.md is the truth: every personal column has a row, and the pages show a
disability or a poor household exactly to the roles its table names.

The table is parsed (field, purpose, who may see, retention, enforced by); the "who may see"
cell of a sensitive field reads "role (reach); role (reach)".
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import JSON, Date, LargeBinary, String, Text

from tests.factories import (
    NOW,
    PASSWORD,
    make_class,
    make_course,
    make_household,
    make_person,
    make_session,
)
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.people import visibility
from webapp.people.models import Village
from webapp.permissions import Role
from webapp.scheduling.models import Enrolment, EnrolmentStatus

DOC = Path(__file__).resolve().parents[2] / "docs" / "personal-data.md"

#: Tables that hold personal data: each must appear in the table (a new one is added here).
PERSONAL_TABLES = {
    "persons",
    "households",
    "users",
    "checkin_devices",
    "signup_requests",
    "checkin_join_requests",
    "import_batches",
    "attendance",
    "attendance_changes",
    "enrolments",
    "evidence",
    "quiz_attempts",
    "certificates",
    "certificate_prints",
    "mentors",
    "mentorships",
    "mentoring_meetings",
    "mentoring_confirmations",
    "audit_events",
    "consents",
    "data_requests",
    "throttles",
    "backoffs",
    "report_spans",
    "offline_actions",
}
TEXT_TYPES = (String, Text, Date, JSON, LargeBinary)

#: The sensitive fields' rows and the visibility rule each is.
SENSITIVE_ROWS = {
    "persons.disability": visibility.DISABILITY,
    "households.is_poor": visibility.POOR_HOUSEHOLD,
}
ROLE_WORDS = {
    "admin": Role.ADMIN,
    "organiser": Role.ORGANISER,
    "village lead": Role.VILLAGE_LEAD,
    "trainer": Role.TRAINER,
    "mentor": Role.MENTOR,
}
REACH_WORDS = {
    "commune": visibility.COMMUNE,
    "own village": visibility.VILLAGE,
    "own classes' learners": visibility.OWN_CLASSES,
}
USERS = {
    Role.ADMIN: "admin",
    Role.ORGANISER: "organiser",
    Role.TRAINER: "trainer",
    Role.MENTOR: "mentor",
    Role.VILLAGE_LEAD: "lead",
}


def read_table() -> dict[str, list[str]]:
    """``table.column`` → the row's cells (field, purpose, who may see, retention, enforced)."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 5, line
        for table, column in re.findall(r"`(\w+)\.(\w+)`", cells[0]):
            rows[f"{table}.{column}"] = cells
    return rows


def who_may_see(cell: str) -> dict[Role, str]:
    """'admin (commune); trainer (own classes' learners)' → {Role.ADMIN: 'commune', …}."""
    found = {}
    for part in cell.split(";"):
        match = re.fullmatch(r"\s*([a-z ]+?) \((.+)\)\s*", part)
        assert match, f"unreadable 'who may see': {part!r}"
        found[ROLE_WORDS[match.group(1)]] = REACH_WORDS[match.group(2)]
    return found


TABLE = read_table()
RULES = {SENSITIVE_ROWS[field]: who_may_see(TABLE[field][2]) for field in SENSITIVE_ROWS}


def test_every_personal_column_has_a_row(app):
    listed = {field.split(".")[0] for field in TABLE}
    assert not PERSONAL_TABLES - listed, PERSONAL_TABLES - listed
    missing, stale = [], []
    for name in listed:
        table = db.metadata.tables.get(name)
        assert table is not None, f"docs/personal-data.md names a table that is gone: {name}"
        for column in table.columns:
            if isinstance(column.type, TEXT_TYPES) and f"{name}.{column.name}" not in TABLE:
                missing.append(f"{name}.{column.name}")
        stale += [f for f in TABLE if f.startswith(f"{name}.") and f.split(".")[1] not in table.c]
    assert not missing, f"personal columns without a row in docs/personal-data.md: {missing}"
    assert not stale, f"rows for columns that do not exist: {stale}"


def test_every_row_says_purpose_audience_and_retention():
    for field, cells in TABLE.items():
        assert all(cells[1:4]), field


def test_the_sensitive_rows_are_the_visibility_rule():
    assert RULES == visibility.SENSITIVE


# --- the pages ---------------------------------------------------------------------------------


@pytest.fixture
def sensitive(app, world):
    """In Thôn 1 (the lead's village): Hà, with a vision disability, of a poor household,
    enrolled in the trainer's class; Lụa, hard of hearing, enrolled nowhere."""
    from webapp.reports.services import seed_indicators

    with app.app_context():
        village = db.session.get(Village, world.village_ids[0])
        poor = make_household(village, "T1-009", is_poor=True)
        ha = make_person(village, "Y Hà Niê", 1950, household=poor, disability="vision")
        lua = make_person(village, "Rơ Mah Lụa", 1952, disability="hearing")
        trainer = db.session.get(User, world.users["trainer"])
        course = make_course(world.commune_id, world.users["organiser"])
        course_class = make_class(course, [trainer], village_id=village.id)
        session = make_session(course_class, NOW + timedelta(days=1))
        db.session.add(
            Enrolment(
                course_class=course_class,
                person_id=ha.id,
                status=EnrolmentStatus.ENROLLED,
                since=NOW,
            )
        )
        seed_indicators(now=NOW)
        db.session.commit()
        return {
            "ha": ha.id,
            "lua": lua.id,
            "household": poor.id,
            "session": session.id,
            "village": village.id,
        }


BOTH = (visibility.DISABILITY, visibility.POOR_HOUSEHOLD)


#: page → (URL, request headers, the sensitive fields it shows to whoever may see them).
def _pages(ids) -> dict[str, tuple[str, dict, tuple[str, ...]]]:
    return {
        "person detail": (f"/people/{ids['ha']}", {}, BOTH),
        "household": (f"/households/{ids['household']}", {}, BOTH),
        "people list": ("/people?q=Y+H%C3%A0", {"HX-Request": "true"}, BOTH),
        "roster": (f"/sessions/{ids['session']}/roster", {}, (visibility.DISABILITY,)),
        "live panel": (f"/sessions/{ids['session']}/live", {}, (visibility.DISABILITY,)),
        "who is left": (
            f"/reports/left/adults_basic?year=2025&village={ids['village']}",
            {},
            BOTH,
        ),
    }


#: What each field looks like on a page (Vietnamese): the label, the segment tag.
SHOWN = {
    visibility.DISABILITY: ("Khiếm thị", "Người khuyết tật"),
    visibility.POOR_HOUSEHOLD: ("Hộ nghèo",),
}


def _may_see(role: Role, field: str) -> bool:
    """The docs' answer for Hà (of the lead's village, enrolled in the trainer's class)."""
    return role in RULES[field]


@pytest.mark.parametrize("role", list(USERS))
def test_the_pages_show_the_sensitive_fields_exactly_as_the_table_says(
    app, sensitive, actions, role
):
    actions.login(USERS[role], PASSWORD)
    opened = 0
    for page, (url, headers, fields) in _pages(sensitive).items():
        response = actions.client.get(url, headers=headers)
        text = response.get_data(as_text=True)
        if response.status_code != 200:
            assert response.status_code in (403, 404), (page, response.status_code)
        else:
            opened += 1
            assert "Y Hà Niê" in text, (role, page)
        for field, labels in SHOWN.items():
            shows = any(label in text for label in labels)
            expected = response.status_code == 200 and field in fields and _may_see(role, field)
            assert shows == expected, (role, page, field)
    assert opened or role == Role.MENTOR


def test_the_trainer_does_not_see_the_disability_of_someone_not_in_their_classes(
    app, sensitive, actions
):
    actions.login("trainer", PASSWORD)
    page = actions.client.get(f"/people/{sensitive['lua']}").get_data(as_text=True)
    assert "Rơ Mah Lụa" in page
    assert "Khiếm thính" not in page and "Người khuyết tật" not in page
    actions.logout()
    actions.login("organiser", PASSWORD)
    page = actions.client.get(f"/people/{sensitive['lua']}").get_data(as_text=True)
    assert "Khiếm thính" in page


@pytest.mark.parametrize(
    ("username", "offered"), [("trainer", False), ("organiser", True), ("lead", True)]
)
def test_the_people_search_offers_a_sensitive_filter_only_to_its_readers(
    app, sensitive, actions, username, offered
):
    actions.login(username, PASSWORD)
    page = actions.client.get("/people").get_data(as_text=True)
    assert ('value="poor_household"' in page) is offered
    assert ('value="disability"' in page) is offered
    # and a crafted filter is ignored: the trainer's results do not tell who is poor
    found = actions.client.get(
        "/people?segment=poor_household&q=R%C6%A1", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert ("Rơ Mah Lụa" in found) is not offered
