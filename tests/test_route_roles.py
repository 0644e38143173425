"""Every route against the role table: a new route cannot escape it.

The table says which roles may use each endpoint. The tests check that (1) every endpoint
of ``app.url_map`` is in the table, (2) each view declares exactly those roles, and (3)
a real request as each role gets 403 exactly when the role is not allowed.
"""

from datetime import timedelta

import pytest
from flask import url_for

from tests.factories import (
    PASSWORD,
    make_class,
    make_course,
    make_household,
    make_person,
    make_session,
    make_venue,
)
from webapp.accounts.models import User
from webapp.certificates.models import Certificate
from webapp.checkin.models import Attendance, Device, JoinRequest
from webapp.extensions import db
from webapp.learning.framework import seed_framework
from webapp.learning.services import record_evidence
from webapp.mentoring import meetings
from webapp.mentoring import services as mentoring
from webapp.people.models import ImportBatch, Village
from webapp.permissions import PUBLIC, Role
from webapp.scheduling.models import CourseMaterial, Enrolment, EnrolmentStatus, SignupRequest
from webapp.timeutil import utcnow

ALL = frozenset(Role)
MANAGERS = frozenset({Role.ADMIN, Role.ORGANISER})
EDITORS = MANAGERS | {Role.VILLAGE_LEAD}
PLANNERS = MANAGERS | {Role.TRAINER}
#: Who reads people: the registry, registers, grids, eligibility and certificates (each in
#: their own scope, see tests/test_scope.py). Not mentors: volunteers, who will see their own
#: mentees once mentoring links them.
READERS = ALL - {Role.MENTOR}

ROLE_TABLE: dict[str, frozenset | str] = {
    "static": PUBLIC,
    "site.index": PUBLIC,
    "site.healthz": PUBLIC,
    "site.service_worker": PUBLIC,  # the service worker script (static/js/sw.js)
    "site.set_language": PUBLIC,
    "accounts.login": PUBLIC,
    "accounts.logout": ALL,
    "accounts.user_list": MANAGERS,
    "accounts.user_new": MANAGERS,
    "accounts.user_password": MANAGERS,
    "accounts.user_disable": MANAGERS,
    "accounts.user_enable": MANAGERS,
    "accounts.user_sign_out": MANAGERS,
    "people.index": READERS,
    "people.detail": READERS,
    "people.create": EDITORS,
    "people.edit": EDITORS,
    "people.household": READERS,
    "people.household_edit": EDITORS,
    # a person's data rights: consent by the staff who edit people; requests, the access
    # export and erasure by managers (docs/personal-data.md)
    "privacy.person": EDITORS,
    "privacy.record_consent": EDITORS,
    "privacy.withdraw_consent": EDITORS,
    "privacy.consent_form": EDITORS,
    "privacy.household_consent_form": EDITORS,
    "privacy.open_request": MANAGERS,
    "privacy.fulfil_request": MANAGERS,
    "privacy.lift_restriction": MANAGERS,
    "privacy.export_json": MANAGERS,
    "privacy.export_pdf": MANAGERS,
    "privacy.open_requests": MANAGERS,
    "phone_consent.agree": PUBLIC,  # the learner's own phone (its cookie), like /hoc
    # the audit trail of a person, of a user: admins (of their commune, or the province)
    "people_audit.person": frozenset({Role.ADMIN}),
    "people_audit.user": frozenset({Role.ADMIN}),
    # the personal-data impact assessment annex: counts only, admins (their commune or all)
    "privacy_impact.index": frozenset({Role.ADMIN}),
    "imports.upload": MANAGERS,
    "imports.template": MANAGERS,
    "imports.preview": MANAGERS,
    "imports.commit": MANAGERS,
    # scheduling: planners plan; every staff role may read courses, venues and classes
    "scheduling.course_list": ALL,
    "scheduling.course_new": PLANNERS,
    "scheduling.course_detail": ALL,
    "scheduling.course_edit": PLANNERS,
    "scheduling.material_add": PLANNERS,
    "scheduling.material_download": ALL,
    "scheduling.venue_list": ALL,
    "scheduling.venue_new": PLANNERS,
    "scheduling.venue_edit": PLANNERS,
    "scheduling.class_list": ALL,
    "scheduling.class_new": PLANNERS,
    "scheduling.class_detail": ALL,
    "scheduling.class_edit": PLANNERS,
    "enrolment.manage": PLANNERS,
    "enrolment.withdraw": PLANNERS,
    "enrolment.signups": PLANNERS,
    "enrolment.signup_confirm": PLANNERS,
    "enrolment.signup_reject": PLANNERS,
    "sessions.create": PLANNERS,
    "sessions.series": PLANNERS,
    "sessions.detail": PLANNERS,
    "sessions.edit": PLANNERS,
    "sessions.cancel": PLANNERS,
    "calendar.today": PLANNERS,
    "calendar.subscribe": PLANNERS,
    "calendar.week": PLANNERS,
    "calendar.month": PLANNERS,
    "checkin_live.live": PLANNERS,
    "checkin_live.panel": PLANNERS,
    "checkin_live.qr_part": PLANNERS,
    "checkin_live.rotating": PLANNERS,
    "checkin_live.decide_join": PLANNERS,
    "checkin_live.roster": PLANNERS,
    "checkin_live.mark": PLANNERS,
    "checkin_live.correct": PLANNERS,
    "checkin_live.revoke_device": PLANNERS,
    "checkin_live.decide_link": PLANNERS,
    "checkin_live.confirm_device": PLANNERS,
    "checkin_records.register": READERS,
    "checkin_records.register_xlsx": READERS,
    "checkin_records.class_grid": READERS,
    "checkin_records.class_grid_xlsx": READERS,
    "checkin_records.person": READERS,
    "learning.framework_page": ALL,
    "learning.rules": MANAGERS,
    "learning.checklist": PLANNERS,
    "learning.checklist_toggle": PLANNERS,
    "learning.class_eligibility": READERS,
    "learning.person_evidence": PLANNERS | {Role.VILLAGE_LEAD},
    "learning.add_mooc": PLANNERS | {Role.VILLAGE_LEAD},
    "learning.add_vneid": PLANNERS | {Role.VILLAGE_LEAD},
    "learning.withdraw": PLANNERS | {Role.VILLAGE_LEAD},
    "quiz.person_quizzes": PLANNERS | {Role.MENTOR},
    "quiz.helper_start": PLANNERS | {Role.MENTOR},
    "quiz.helper_question": PLANNERS | {Role.MENTOR},
    "quiz.helper_result": PLANNERS | {Role.MENTOR},
    "certificates.class_certificates": READERS,
    "certificates.issue": MANAGERS,
    "certificates.issue_all": MANAGERS,
    "certificates.class_pdf": PLANNERS,
    "certificates.village_pdf": READERS,
    "certificates.detail": READERS,
    "certificates.revoke": MANAGERS,
    "certificates.reissue": MANAGERS,
    "certificates.certificate_pdf": READERS,
    "certificates.print_view": READERS,
    "checkin_cards.class_cards": PLANNERS,
    "checkin_cards.village_cards": MANAGERS | {Role.VILLAGE_LEAD},
    "checkin_cards.scan": PLANNERS,
    "checkin_cards.sheet": PLANNERS,
    # a staff phone's offline queue (docs/offline.md): each action is checked as online
    "checkin_offline.token": ALL,
    "checkin_offline.sync": ALL,
    # mentoring: organisers and village leads (their village) manage mentors; not mentors
    "mentoring.mentors": EDITORS,
    "mentoring.mentor_new": EDITORS,
    "mentoring.mentor": EDITORS,
    "mentoring.mentor_edit": EDITORS,
    "mentoring.mentor_end": EDITORS,
    "mentoring.mentor_link": MANAGERS,
    "mentoring.assign": EDITORS,
    "mentoring.mentorship_end": EDITORS,
    "mentoring.mentorship_reassign": EDITORS,
    # the organiser's view of the network, its weekly digest and Excel export (scoped)
    "mentoring_overview.index": EDITORS,
    "mentoring_overview.digest": EDITORS,
    "mentoring_overview.export": EDITORS,
    # the mentor's phone pages: their own mentees and meetings only (404 for another's)
    "mentor.home": {Role.MENTOR},
    "mentor.new_meeting": {Role.MENTOR},
    "mentor.meeting": {Role.MENTOR},
    "mentor.attest": {Role.MENTOR},
    "mentor.present": {Role.MENTOR},
    # a mentee's confirmation on their remembered phone (the phone's own people only)
    "mentor.confirm": PUBLIC,
    # reports against the plan: managers (their commune, or the province) and village leads
    # (their village)
    "reports.dashboard": EDITORS,
    "reports.left": EDITORS,
    # periodic reports, populations and targets: managers; only the province reopens (a
    # commune's admin is refused by the rule: tests/reports/test_submit.py)
    "reports_submit.index": MANAGERS,
    "reports_submit.submit": MANAGERS,
    "reports_submit.report": MANAGERS,
    "reports_submit.reopen": frozenset({Role.ADMIN}),
    "reports_submit.populations": MANAGERS,
    "reports_submit.indicators": MANAGERS,
    "reports_panels.trend": EDITORS,
    "reports_panels.activity": EDITORS,
    "reports_panels.learners": EDITORS,
    "reports_export.xlsx": EDITORS,
    "reports_export.csv": EDITORS,
    "reports_export.aggregates": EDITORS,
    "reports_export.print_page": EDITORS,
    # public: no personal data
    "signup.class_page": PUBLIC,
    "public.schedule": PUBLIC,
    "public.schedule_print": PUBLIC,
    "public.village_ics": PUBLIC,
    "public.class_ics": PUBLIC,
    "public.trainer_ics": PUBLIC,
    # the learner's phone; the card page shows no personal data to visitors
    "checkin_learner.enter_code": PUBLIC,
    "checkin_learner.scan": PUBLIC,
    "checkin_learner.done": PUBLIC,
    "checkin_cards.person_card": PUBLIC,
    "quiz.home": PUBLIC,
    "quiz.learner_start": PUBLIC,
    "quiz.learner_question": PUBLIC,
    "quiz.learner_result": PUBLIC,
    "certificates.verify": PUBLIC,
}

USERS = {
    Role.ADMIN: "admin",
    Role.ORGANISER: "organiser",
    Role.TRAINER: "trainer",
    Role.MENTOR: "mentor",
    Role.VILLAGE_LEAD: "lead",
}


def test_every_route_is_in_the_role_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ROLE_TABLE), (
        f"missing from table: {endpoints - set(ROLE_TABLE)}; stale: {set(ROLE_TABLE) - endpoints}"
    )


def test_every_view_declares_the_roles_of_the_table(app):
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            continue
        assert getattr(view, "allowed_roles", None) == ROLE_TABLE[endpoint], endpoint


@pytest.fixture
def samples(app, world):
    """URL arguments that point at real records in the village lead's own village."""
    with app.app_context():
        village = db.session.get(Village, world.village_ids[0])
        household = make_household(village, "T1-001")
        person = make_person(village, "Nguyễn Văn Mẫu", household=household)
        batch = ImportBatch(
            token="sample-token",
            commune_id=world.commune_id,
            uploaded_by_id=world.users["organiser"],
            filename="x.csv",
            content=b"",
            created_at=utcnow(),
        )
        db.session.add(batch)
        # A class of the commune trained by "trainer", with one of everything hanging off it.
        trainer = db.session.get(User, world.users["trainer"])
        course = make_course(world.commune_id, world.users["organiser"])
        venue = make_venue(world.commune_id, village_id=village.id)
        course_class = make_class(course, [trainer], village_id=village.id, public_signup=True)
        session = make_session(course_class, utcnow() + timedelta(days=2), venue=venue)
        material = CourseMaterial(
            course=course,
            title="Hướng dẫn",
            url="https://example.org/a",
            uploaded_by_id=trainer.id,
            uploaded_at=utcnow(),
        )
        enrolment = Enrolment(
            course_class=course_class,
            person_id=person.id,
            status=EnrolmentStatus.ENROLLED,
            since=utcnow(),
        )
        signup = SignupRequest(
            course_class=course_class,
            full_name="Lê Thị Đăng Ký",
            birth_year=1970,
            village_id=village.id,
            phone="",
            created_at=utcnow(),
        )
        db.session.add_all([material, enrolment, signup])
        record = Attendance(
            occasion_kind="session",
            occasion_id=session.id,
            person_id=person.id,
            status="excused",
            method="roster",
            recorded_at=utcnow(),
            recorded_by_id=trainer.id,
            updated_at=utcnow(),
        )
        outsider = make_person(village, "Trần Văn Xin")
        join = JoinRequest(
            occasion_kind="session",
            occasion_id=session.id,
            person_id=outsider.id,
            created_at=utcnow(),
        )
        device = Device(
            key="sample-device", person_id=person.id, created_at=utcnow(), last_used_at=utcnow()
        )
        db.session.add_all([record, join, device])
        db.session.flush()
        seed_framework(utcnow())
        evidence = record_evidence(
            actor=None, now=utcnow(), person=person, competency_code="*", kind="vneid"
        )
        certificate = Certificate(
            serial="NGOKBAY-2025-000001",
            verify_code="sample-verify",
            commune_id=world.commune_id,
            person_id=person.id,
            class_id=course_class.id,
            snapshot={},
            issued_by_id=trainer.id,
            issued_at=utcnow(),
        )
        db.session.add(certificate)
        organiser = db.session.get(User, world.users["organiser"])
        mentor = mentoring.make_mentor(
            actor=organiser,
            now=utcnow(),
            person=make_person(village, "Đinh Văn Đại Sứ", 1999),
            organisation="youth_union",
            village_id=village.id,
        )
        mentorship = mentoring.assign(
            actor=organiser, now=utcnow(), mentor=mentor, person=make_person(village, "Hà Thị Kèm")
        )
        meeting = meetings.log_meeting(
            actor=organiser,
            now=utcnow(),
            mentor=mentor,
            details=meetings.MeetingDetails(people=[mentorship.person], minutes=30, place="home"),
        )
        report = _sample_report(world.commune_id, organiser.id)
        db.session.commit()
        return {
            "report_id": report.id,
            "meeting_id": meeting.id,
            "mentor_id": mentor.id,
            "mentorship_id": mentorship.id,
            "course_id": course.id,
            "venue_id": venue.id,
            "material_id": material.id,
            "class_id": course_class.id,
            "session_id": session.id,
            "record_id": record.id,
            "request_id": join.id,
            "device_id": device.id,
            "decision": "confirm",
            "evidence_id": evidence.id,
            "certificate_id": certificate.id,
            "competency": "4.2",
            "code": "adults_basic",
            "attempt_id": 1,
            "enrolment_id": enrolment.id,
            "signup_id": signup.id,
            "village_id": village.id,
            "person_id": person.id,
            "household_id": household.id,
            "user_id": world.users["trainer"],
            "token": "sample-token",
            "fmt": "csv",
            "filename": "css/app.css",
        }


def _sample_report(commune_id: int, user_id: int):
    """A submitted report of the commune (empty figures)."""
    from datetime import date

    from webapp.reports.models import Report

    figures = {"as_of": utcnow().isoformat(), "year": 2025, "level": "village"}
    figures |= {"commune_ids": [commune_id], "village_id": None, "units": [], "rows": []}
    report = Report(
        commune_id=commune_id,
        period="2025-Q3",
        starts_on=date(2025, 7, 1),
        ends_on=date(2025, 9, 30),
        status="submitted",
        figures=figures,
        submitted_at=utcnow(),
        submitted_by_id=user_id,
    )
    db.session.add(report)
    db.session.flush()
    return report


def _requests(app, samples):
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if ROLE_TABLE[rule.endpoint] == PUBLIC:
                continue
            url = url_for(rule.endpoint, **{arg: samples[arg] for arg in rule.arguments})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, url


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_403_exactly_where_the_table_says(app, samples, actions, role):
    actions.login(USERS[role], PASSWORD)
    token = actions.csrf_token()
    checked = 0
    for endpoint, method, url in _requests(app, samples):
        if endpoint == "accounts.logout":
            continue  # would end the session; covered by the anonymous test below
        response = actions.client.open(url, method=method, data={"csrf_token": token})
        allowed = role in ROLE_TABLE[endpoint]
        if allowed:
            assert response.status_code != 403, (role, method, url)
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)
        checked += 1
    assert checked >= 15


def test_anonymous_visitors_are_sent_to_log_in(app, samples, client):
    for endpoint, method, url in _requests(app, samples):
        response = client.open(url, method=method)
        if method == "GET":
            assert response.status_code == 302, (endpoint, url)
            assert "/auth/login" in response.headers["Location"]
        else:
            assert response.status_code in (302, 400), (endpoint, url)  # 400: no CSRF token


def test_hidden_buttons_match_permissions(app, samples, actions):
    """The trainer may read a person but not edit: no edit button, and 403 if forced."""
    actions.login("trainer")
    page = actions.client.get(f"/people/{samples['person_id']}").get_data(as_text=True)
    assert f"/people/{samples['person_id']}/edit" not in page
    assert "/people/new" not in actions.client.get("/people").get_data(as_text=True)
    assert actions.client.get(f"/people/{samples['person_id']}/edit").status_code == 403
