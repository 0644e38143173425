"""The scope table: who sees which people, read off the response bodies.

A class of Thôn 2 has learners from both villages of the commune. ``lead`` (the village lead of
Thôn 1) must see, on every page and file that lists people, Thôn 1's learner and never Thôn 2's
(neither the name nor the learner code); a trainer of another class of the commune reads the
class's lists (today's rule: trainers read the commune's registry) but never a learner code;
a mentor (a volunteer) gets 403 or 404 everywhere a person is shown. Learner codes appear only
on the cards and the sign-in sheet of the class's own trainers.

Bodies are decoded: HTML as text, .xlsx with openpyxl, PDFs with pdftotext. A new endpoint that
shows a person's name fails :func:`test_every_endpoint_that_shows_people_is_in_the_scope_table`
until it is added here.
"""

import io
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
from flask import url_for

from tests.factories import (
    NOW,
    PASSWORD,
    make_class,
    make_course,
    make_household,
    make_person,
    make_session,
    make_user,
    make_venue,
)
from tests.test_route_roles import ROLE_TABLE
from webapp.accounts.models import User
from webapp.certificates import services as certificates
from webapp.certificates.models import Certificate
from webapp.checkin.models import Attendance
from webapp.extensions import db
from webapp.learning import framework
from webapp.learning.framework import seed_framework
from webapp.mentoring import meetings
from webapp.mentoring import services as mentoring
from webapp.people.models import Commune, Village
from webapp.permissions import PUBLIC, Role
from webapp.scheduling.models import Enrolment, EnrolmentStatus
from webapp.timeutil import utcnow

OWN_NAME = "Phạm Thị Mình Làng"  # Thôn 1, the lead's village
FAR_NAME = "Hoàng Văn Xaxôi"  # Thôn 2
OWN_CODE = "MJK3PQ"
FAR_CODE = "XWV7HT"
OWN_HOUSEHOLD = "T1-777"
FAR_HOUSEHOLD = "T2-999"

# Endpoints that show people, and what each shows. "list": the learners of a class or session,
# filtered row by row (a village lead: their village's); "commune": the same lists for the
# commune's planners only; "person": one person's (or village's) page, 404 outside the scope;
# "runner": only for those who run the class (the lists a trainer works from; learner codes
# only on the "codes" ones). The URL arguments: _args(scope, "own" or "far").
SCOPE_TABLE: dict[str, str] = {
    "people.index": "list",
    "people.detail": "person",
    "people.edit": "person",
    "people.household": "person",
    "people.household_edit": "person",
    # a person's data rights page, the consent forms to print and the access export: one
    # person's (or household's), 404 outside; the open requests: the commune's managers only
    # ("managed": its commune filter is tested in tests/people/test_privacy.py)
    "privacy.person": "person",
    "privacy.consent_form": "person",
    "privacy.household_consent_form": "person",
    "privacy.export_json": "person",
    "privacy.export_pdf": "person",
    "privacy.open_requests": "managed",
    # the audit trails, for admins only: a person's (404 outside the admin's commune), and a
    # user's, which names the people of the events (tests/people/test_audit.py)
    "people_audit.person": "person",
    "people_audit.user": "admins",
    "checkin_records.register": "list",
    "checkin_records.register_xlsx": "list",
    "checkin_records.class_grid": "list",
    "checkin_records.class_grid_xlsx": "list",
    "checkin_records.person": "person",
    "learning.class_eligibility": "list",
    "learning.person_evidence": "person",
    "certificates.class_certificates": "list",
    "certificates.class_pdf": "commune",
    "certificates.village_pdf": "person",
    "certificates.detail": "person",
    "certificates.certificate_pdf": "person",
    "certificates.print_view": "person",
    "quiz.person_quizzes": "person",
    "quiz.helper_start": "person",
    "enrolment.manage": "runner",
    "learning.checklist": "runner",
    "checkin_live.live": "runner",
    "checkin_live.panel": "runner",
    "checkin_live.roster": "runner codes",
    "checkin_cards.class_cards": "runner codes",
    "checkin_cards.sheet": "runner codes",
    # a village's cards: planners of the commune and the village's own lead
    "checkin_cards.village_cards": "person codes",
    # a mentor's page lists their mentees: the lead's own village's mentor, 404 for another
    "mentoring.mentor": "person",
    # the organiser's view of the mentoring network: "managers list" is a "list" that only
    # the commune's managers and village leads read (trainers get 403); the overview shows
    # mentors and counts only (its lead scope: tests/mentoring/test_overview.py)
    "mentoring_overview.index": "mentors",
    "mentoring_overview.digest": "managers list",
    "mentoring_overview.export": "managers list",
    # the impact-assessment annex: counts per commune, never a name (admins only)
    "privacy_impact.index": "counts",
}


@pytest.fixture
def scope(app, world):
    """Thôn 2's class with a learner of each village, a session with both recorded, a
    certificate for each; ``trainer`` runs it, ``trainer2`` runs another class."""
    with app.app_context():
        v1, v2 = (db.session.get(Village, i) for i in world.village_ids)
        trainer = db.session.get(User, world.users["trainer"])
        trainer2 = make_user("trainer2", Role.TRAINER, db.session.get(Commune, world.commune_id))
        seed_framework(NOW)
        course = make_course(world.commune_id, world.users["organiser"])
        venue = make_venue(world.commune_id, village_id=v2.id)
        course_class = make_class(course, [trainer], name="Lớp Thôn 2", village_id=v2.id)
        make_class(course, [trainer2], name="Lớp khác")
        session = make_session(course_class, utcnow() - timedelta(hours=1), venue=venue)
        own = make_person(
            v1, OWN_NAME, household=make_household(v1, OWN_HOUSEHOLD), learner_code=OWN_CODE
        )
        far = make_person(
            v2, FAR_NAME, household=make_household(v2, FAR_HOUSEHOLD), learner_code=FAR_CODE
        )
        version = framework.current_version()
        ids = {}
        for key, person in (("own", own), ("far", far)):
            db.session.add(
                Enrolment(
                    course_class=course_class,
                    person_id=person.id,
                    status=EnrolmentStatus.ENROLLED,
                    since=utcnow(),
                )
            )
            db.session.add(
                Attendance(
                    occasion_kind="session",
                    occasion_id=session.id,
                    person_id=person.id,
                    status="present",
                    method="roster",
                    recorded_at=utcnow(),
                    recorded_by_id=trainer.id,
                    updated_at=utcnow(),
                )
            )
            serial = f"NGOKBAY-2026-00000{len(ids) + 1}"
            eligibility = SimpleNamespace(
                person=person, course_class=course_class, version=version, achieved=[], hours=2.0
            )
            certificate = Certificate(
                serial=serial,
                verify_code=f"verify-{key}",
                commune_id=world.commune_id,
                person_id=person.id,
                class_id=course_class.id,
                snapshot=certificates.snapshot(eligibility, serial=serial, now=NOW),
                issued_by_id=world.users["organiser"],
                issued_at=NOW,
            )
            db.session.add(certificate)
            db.session.flush()
            organiser = db.session.get(User, world.users["organiser"])
            village = v1 if key == "own" else v2
            mentor = mentoring.make_mentor(
                actor=organiser,
                now=NOW,
                person=make_person(village, f"Đại Sứ Thôn {village.id}", 1999),
                organisation="youth_union",
                village_id=village.id,
            )
            mentoring.assign(actor=organiser, now=NOW, mentor=mentor, person=person)
            meeting = meetings.log_meeting(
                actor=organiser,
                now=NOW,
                mentor=mentor,
                details=meetings.MeetingDetails(people=[person], minutes=30, place="home"),
            )
            ids[key] = SimpleNamespace(
                meeting_id=meeting.id,
                mentor_id=mentor.id,
                person_id=person.id,
                household_id=person.household_id,
                village_id=person.village_id,
                certificate_id=certificate.id,
            )
        db.session.commit()
        return SimpleNamespace(
            class_id=course_class.id,
            session_id=session.id,
            user_id=world.users["organiser"],
            **ids,
        )


def _args(scope, whose: str) -> dict:
    person = getattr(scope, whose)
    return {
        "class_id": scope.class_id,
        "session_id": scope.session_id,
        "person_id": person.person_id,
        "household_id": person.household_id,
        "village_id": person.village_id,
        "certificate_id": person.certificate_id,
        "mentor_id": person.mentor_id,
        "meeting_id": person.meeting_id,
        "competency": "4.2",
        "code": "adults_basic",
        "user_id": scope.user_id,
    }


def body_text(response) -> str:
    """What a person reads in the response: HTML as text, spreadsheets and PDFs decoded."""
    data = response.get_data()
    mimetype = response.mimetype or ""
    if "spreadsheetml" in mimetype:
        book = openpyxl.load_workbook(io.BytesIO(data))
        return "\n".join(
            " ".join("" if v is None else str(v) for v in row)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    if mimetype == "application/pdf":
        result = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
        )
        return result.stdout.decode()
    return data.decode("utf-8", "replace")


def _has_code(text: str, code: str) -> bool:
    # as printed in two groups of three ("XWV 7HT") or in one
    return code in text or f"{code[:3]} {code[3:]}" in text


def _get(actions, endpoint: str, args: dict):
    with actions.client.application.test_request_context():
        rule = next(r for r in actions.client.application.url_map.iter_rules(endpoint))
        url = url_for(endpoint, **{a: args[a] for a in rule.arguments})
    return actions.client.get(url)


def _login(actions, username):
    actions.login(username, PASSWORD)


# --- the village lead ------------------------------------------------------------------------

LEAD_LISTS = [e for e, kind in SCOPE_TABLE.items() if kind in ("list", "managers list")]
LEAD_PEOPLE = [
    e
    for e, kind in SCOPE_TABLE.items()
    if kind.startswith("person") and Role.VILLAGE_LEAD in ROLE_TABLE[e]
]


@pytest.mark.parametrize("endpoint", LEAD_LISTS)
def test_a_village_lead_sees_only_their_village_in_lists(app, scope, actions, endpoint):
    _login(actions, "lead")
    response = _get(actions, endpoint, _args(scope, "own"))
    assert response.status_code == 200, endpoint
    text = body_text(response)
    assert OWN_NAME in text, endpoint
    assert FAR_NAME not in text, endpoint
    assert not _has_code(text, FAR_CODE) and not _has_code(text, OWN_CODE), endpoint


@pytest.mark.parametrize("endpoint", LEAD_PEOPLE)
def test_a_village_lead_opens_only_their_village_people(app, scope, actions, endpoint):
    _login(actions, "lead")
    own = _get(actions, endpoint, _args(scope, "own"))
    assert own.status_code == 200, endpoint
    text = body_text(own)
    assert OWN_NAME in text or OWN_HOUSEHOLD in text, endpoint
    far = _get(actions, endpoint, _args(scope, "far"))
    assert far.status_code == 404, endpoint
    text = body_text(far)
    assert FAR_NAME not in text and FAR_HOUSEHOLD not in text, endpoint


def test_the_village_lead_searches_only_their_village(app, scope, actions):
    _login(actions, "lead")
    text = body_text(actions.client.get("/people?q=Xaxoi"))
    assert FAR_NAME not in text
    assert FAR_NAME not in body_text(actions.client.get(f"/households/{scope.far.household_id}"))


# --- a trainer of another class of the commune ----------------------------------------------


@pytest.mark.parametrize(
    "endpoint", [e for e, k in SCOPE_TABLE.items() if k in ("list", "commune")]
)
def test_another_trainer_reads_the_lists_without_learner_codes(app, scope, actions, endpoint):
    _login(actions, "trainer2")
    response = _get(actions, endpoint, _args(scope, "own"))
    assert response.status_code == 200, endpoint
    text = body_text(response)
    assert OWN_NAME in text and FAR_NAME in text, endpoint
    assert not _has_code(text, FAR_CODE) and not _has_code(text, OWN_CODE), endpoint


@pytest.mark.parametrize("endpoint", [e for e, k in SCOPE_TABLE.items() if k.startswith("runner")])
def test_only_the_class_runners_open_its_working_lists(app, scope, actions, endpoint):
    _login(actions, "trainer2")
    assert _get(actions, endpoint, _args(scope, "own")).status_code == 403, endpoint
    actions.logout()
    _login(actions, "trainer")
    response = _get(actions, endpoint, _args(scope, "own"))
    assert response.status_code == 200, endpoint
    text = body_text(response)
    assert OWN_NAME in text and FAR_NAME in text, endpoint
    if "codes" not in SCOPE_TABLE[endpoint]:
        assert not _has_code(text, FAR_CODE), endpoint


@pytest.mark.parametrize("person", ["own", "far"])
def test_person_pages_show_no_learner_code(app, scope, actions, person):
    _login(actions, "organiser")
    for endpoint, kind in SCOPE_TABLE.items():
        if kind == "person" and Role.ORGANISER in ROLE_TABLE[endpoint]:
            text = body_text(_get(actions, endpoint, _args(scope, person)))
            code = OWN_CODE if person == "own" else FAR_CODE
            assert not _has_code(text, code), endpoint


# --- mentors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", list(SCOPE_TABLE))
def test_a_mentor_sees_nobody(app, scope, actions, endpoint):
    _login(actions, "mentor")
    for whose in ("own", "far"):
        response = _get(actions, endpoint, _args(scope, whose))
        assert response.status_code in (403, 404), (endpoint, response.status_code)
        text = body_text(response)
        assert OWN_NAME not in text and FAR_NAME not in text, endpoint


def test_the_mentor_menu_links_only_pages_they_can_open(app, scope, actions):
    _login(actions, "mentor")
    home = actions.client.get("/").get_data(as_text=True)
    assert "/people" not in home
    page = actions.client.get(f"/classes/{scope.class_id}").get_data(as_text=True)
    assert page.count(f"/classes/{scope.class_id}/") == 0 or all(
        actions.client.get(link).status_code == 200
        for link in set(re.findall(rf'href="(/classes/{scope.class_id}/[^"#?]*)', page))
    )
    assert OWN_NAME not in page and FAR_NAME not in page


def test_the_mentor_cannot_help_arbitrary_people_with_a_quiz(app, scope, actions):
    """Mentors keep the quiz-helper pages for their mentees; today that set is empty."""
    _login(actions, "mentor")
    for whose in ("own", "far"):
        person_id = getattr(scope, whose).person_id
        assert actions.client.get(f"/people/{person_id}/quiz").status_code == 404
        assert actions.client.get(f"/people/{person_id}/quiz/4.2").status_code == 404


# --- the table is complete ---------------------------------------------------------------------


def test_every_endpoint_that_shows_people_is_in_the_scope_table(app, scope, actions):
    """As the admin (who sees everyone), open every staff GET endpoint; any that shows the
    learner's name must be in SCOPE_TABLE (and so be checked above)."""
    _login(actions, "admin")
    others = (
        "course_id",
        "venue_id",
        "material_id",
        "attempt_id",
        "enrolment_id",
        "signup_id",
        "user_id",
        "record_id",
        "request_id",
        "device_id",
        "evidence_id",
        "report_id",
    )
    args = _args(scope, "far") | dict.fromkeys(others, 1)
    args |= {"token": "x", "fmt": "csv", "filename": "css/app.css", "decision": "confirm"}
    shown = set()
    for rule in app.url_map.iter_rules():
        if ROLE_TABLE.get(rule.endpoint) == PUBLIC or "GET" not in rule.methods:
            continue
        with app.test_request_context():
            url = url_for(rule.endpoint, **{a: args[a] for a in rule.arguments})
        response = actions.client.get(url)
        if FAR_NAME in body_text(response):
            shown.add(rule.endpoint)
    assert shown, "the check found no page at all: the world is broken"
    missing = shown - set(SCOPE_TABLE)
    assert not missing, f"endpoints showing people, missing from SCOPE_TABLE: {missing}"


def test_view_modules_have_no_private_load_and_authorise_helpers():
    """One scoped loader per object (scheduling.queries.get_class, people.queries.get_person,
    …): no view module grows its own "_class_or_404" again."""
    pattern = re.compile(r"def _\w*(or_404|runnable|visible|in_commune)")
    root = Path(__file__).resolve().parents[1] / "webapp"
    found = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for path in root.rglob("*views.py")
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not found
