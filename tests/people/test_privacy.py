"""A person's data rights: consent proven and withdrawn (then not processed anywhere),
requests with deadlines, the access export (every kind of record, PDF read back), erasure
(no trace of the name or phone in any text column of any table, the certificate still
verifies, the report totals unchanged)."""

import json
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import JSON, LargeBinary, String, Text, select

from tests.factories import (
    NOW,
    build_world,
    make_class,
    make_course,
    make_household,
    make_person,
    make_session,
)
from webapp.accounts.models import User
from webapp.certificates.models import Certificate
from webapp.checkin import services as checkin
from webapp.checkin.models import Attendance, Device, Method
from webapp.checkin.occasions import SessionOccasion
from webapp.extensions import db
from webapp.learning.models import Evidence
from webapp.mentoring import services as mentoring
from webapp.mentoring.models import Organisation
from webapp.people import consent, erasure, requests, subject_export
from webapp.people.models import Person, Village
from webapp.people.privacy_models import (
    AuditEvent,
    Consent,
    ConsentMethod,
    DataRequest,
    PrivacyError,
    RequestKind,
)
from webapp.reports import figures
from webapp.reports import services as report_services
from webapp.reports.figures import Scope
from webapp.scheduling import enrolment
from webapp.scheduling.models import SignupRequest

NAME = "Hồ Thị Xuân Hương"
PHONE = "0905123987"
DAY = timedelta(days=1)


class PW:
    pass


@pytest.fixture
def pw(app):
    """A learner of Thôn 1 with a record of every kind: enrolled, attended, evidence, a
    certificate, a linked phone, a sign-up, a mentor; and the plan's indicators."""
    from webapp.learning.framework import seed_framework

    with app.app_context():
        base = build_world()
        seed_framework(NOW)
        report_services.seed_indicators(now=NOW)
        w = PW()
        w.users = {k: db.session.get(User, v) for k, v in base.users.items()}
        w.v1, w.v2 = (db.session.get(Village, i) for i in base.village_ids)
        w.commune_id = base.commune_id
        household = make_household(w.v1, "T1-099")
        w.person = make_person(w.v1, NAME, 1958, household=household, phone=PHONE)
        w.person.created_at = NOW - 30 * DAY
        w.person.note = f"Gọi {PHONE} trước khi đến"
        # Free text elsewhere that names her (a course's summary, written by staff).
        course = make_course(base.commune_id, w.users["organiser"].id)
        course.summary = f"Cô {NAME} hỗ trợ"
        w.course_class = make_class(course, [w.users["trainer"]])
        w.session = make_session(w.course_class, NOW - timedelta(minutes=10))
        enrolment.enrol(
            actor=w.users["organiser"], now=NOW, course_class=w.course_class, person=w.person
        )
        db.session.add(
            Attendance(
                occasion_kind="session",
                occasion_id=w.session.id,
                person_id=w.person.id,
                status="present",
                method="roster",
                recorded_at=NOW - 5 * DAY,
                updated_at=NOW - 5 * DAY,
            )
        )
        db.session.add(
            Evidence(
                person_id=w.person.id,
                competency_code="1.1",
                kind="checklist",
                recorded_at=NOW - 4 * DAY,
                detail={"note": f"{NAME} làm tốt"},
            )
        )
        w.certificate = Certificate(
            serial="NGOKBAY-2025-000001",
            verify_code="verify-privacy-1",
            commune_id=base.commune_id,
            person_id=w.person.id,
            class_id=w.course_class.id,
            snapshot={
                "full_name": NAME,
                "birth_year": 1958,
                "course": "Kỹ năng số",
                "serial": "NGOKBAY-2025-000001",
                "committee": "UBND xã Ngọk Bay",
            },
            issued_by_id=w.users["organiser"].id,
            issued_at=NOW - 3 * DAY,
        )
        db.session.add(w.certificate)
        db.session.add(
            Device(
                key="a" * 32,
                person_id=w.person.id,
                created_at=NOW - 2 * DAY,
                last_used_at=NOW - 2 * DAY,
                user_agent="Mozilla/5.0 (Linux; Android 10; Hương's phone)",
            )
        )
        db.session.add(
            SignupRequest(
                class_id=w.course_class.id,
                full_name=NAME,
                birth_year=1958,
                village_id=w.v1.id,
                phone=PHONE,
                status="accepted",
                created_at=NOW - 40 * DAY,
                person_id=w.person.id,
            )
        )
        mentor_person = make_person(w.v1, "Đại Sứ Một", 1990)
        mentor = mentoring.make_mentor(
            actor=w.users["organiser"],
            now=NOW,
            person=mentor_person,
            organisation=Organisation.YOUTH_UNION,
        )
        mentoring.assign(actor=w.users["organiser"], now=NOW, mentor=mentor, person=w.person)
        w.mentor = mentor
        consent.give(
            actor=w.users["lead"],
            now=NOW - 20 * DAY,
            person=w.person,
            method=ConsentMethod.PAPER,
            given_on=(NOW - 21 * DAY).date(),
        )
        db.session.commit()
        yield w
        db.session.rollback()


# --- consent ------------------------------------------------------------------------------


def test_a_consent_keeps_what_how_when_and_by_whom(pw):
    (record,) = consent.history(pw.person)
    assert record.notice.version == 1 and "91/2025/QH15" in record.notice.text_vi
    assert (record.method, record.given_on, record.recorded_by_id) == (
        "paper",
        (NOW - 21 * DAY).date(),
        pw.users["lead"].id,
    )
    with pytest.raises(PrivacyError) as refused:
        consent.give(
            actor=pw.users["lead"],
            now=NOW,
            person=pw.person,
            method=ConsentMethod.PAPER,
            given_on=(NOW + 2 * DAY).date(),
        )
    assert refused.value.code == "date_in_future"


def test_withdrawn_consent_stops_enrolment_checkin_and_mentoring(pw, actions):
    consent.withdraw(actor=pw.users["organiser"], now=NOW, person=pw.person)
    db.session.commit()
    assert pw.person.consent_withdrawn_at == NOW
    assert all(c.withdrawn_at == NOW for c in consent.history(pw.person))
    # Check-in: every route refuses, nothing is written.
    occasion = SessionOccasion.load(pw.session.id)
    db.session.execute(Attendance.__table__.delete().where(Attendance.person_id == pw.person.id))
    for method in (Method.ROSTER, Method.CODE):
        with pytest.raises(checkin.CheckinError) as refused:
            checkin.check_in(occasion, pw.person, method=method, now=NOW, actor=pw.users["trainer"])
        assert refused.value.code == "not_processed"
    with pytest.raises(checkin.CheckinError) as refused:
        checkin.set_status(occasion, pw.person, "present", actor=pw.users["trainer"], now=NOW)
    assert refused.value.code == "not_processed"
    assert (
        db.session.scalar(select(Attendance.id).where(Attendance.person_id == pw.person.id)) is None
    )
    # Enrolment and mentoring services refuse.
    other = make_class(pw.course_class.course, [pw.users["trainer"]], name="Lớp khác")
    with pytest.raises(PrivacyError):
        enrolment.enrol(actor=pw.users["organiser"], now=NOW, course_class=other, person=pw.person)
    db.session.rollback()
    # The searches and the mentor's list leave the person out.
    from webapp.mentoring import queries as mentoring_queries

    mentor_user = pw.users["mentor"]
    mentoring.link_account(actor=pw.users["organiser"], now=NOW, mentor=pw.mentor, user=mentor_user)
    db.session.commit()
    assert pw.person.id not in {m.person_id for m in mentoring_queries.my_mentees(mentor_user)}
    actions.login("organiser")
    client = actions.client
    search = f"/classes/{pw.course_class.id}/enrolment?q="
    htmx = {"HX-Request": "true"}  # the search results alone (the roster lists the enrolled)
    response = client.get(search + "Xuân Hương", headers=htmx)
    assert response.status_code == 200
    assert NAME not in response.get_data(as_text=True)
    assert "Đại Sứ Một" in client.get(search + "Đại Sứ", headers=htmx).get_data(as_text=True)
    page = client.get(f"/mentoring/mentors/{pw.mentor.id}?q=Xuân Hương", headers=htmx)
    assert page.status_code == 200 and NAME not in page.get_data(as_text=True)
    # The person's own page says why.
    page = client.get(f"/people/{pw.person.id}").get_data(as_text=True)
    assert 'id="not-processed"' in page
    # Consent given again: processed again.
    consent.give(actor=pw.users["organiser"], now=NOW, person=pw.person, method=ConsentMethod.PAPER)
    db.session.commit()
    assert consent.processable_id(pw.person.id)
    assert NAME in client.get(search + "Xuân Hương", headers=htmx).get_data(as_text=True)
    page = client.get(f"/mentoring/mentors/{pw.mentor.id}?q=Xuân Hương", headers=htmx)
    assert NAME in page.get_data(as_text=True)


def test_a_village_lead_records_a_paper_consent_for_their_village_only(pw, actions):
    other = make_person(pw.v2, "Người Thôn Hai", 1960)
    db.session.commit()
    actions.login("lead")
    client = actions.client
    form = client.get(f"/people/{pw.person.id}/consent/form")
    assert form.status_code == 200 and NAME in form.get_data(as_text=True)
    assert "PHIẾU ĐỒNG Ý" in form.get_data(as_text=True)
    assert client.get(f"/people/{other.id}/privacy").status_code == 404
    page = client.get(f"/people/{pw.person.id}/privacy").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        f"/people/{pw.person.id}/consent", data={"csrf_token": token, "given_on": "02/11/2025"}
    )
    assert response.status_code == 302
    methods = [
        c.method
        for c in db.session.scalars(select(Consent).where(Consent.person_id == pw.person.id))
    ]
    assert methods.count("paper") == 2
    # Nonsense dates are refused with a message, nothing written.
    client.post(
        f"/people/{pw.person.id}/consent", data={"csrf_token": token, "given_on": "31/02/2025"}
    )
    assert (
        db.session.scalar(
            select(Consent.id).where(Consent.person_id == pw.person.id).order_by(Consent.id.desc())
        )
        is not None
    )
    assert len(consent.history(pw.person)) == 2
    # Requests, exports and erasure are for managers.
    assert client.get(f"/people/{pw.person.id}/export.json").status_code == 403


# --- requests -----------------------------------------------------------------------------


def test_requests_have_deadlines_and_are_logged_when_fulfilled(pw):
    organiser = pw.users["organiser"]
    request = requests.open_request(
        actor=organiser, now=NOW, person=pw.person, kind=RequestKind.RESTRICTION
    )
    assert request.due_at == NOW + timedelta(hours=72)
    requests.fulfil(actor=organiser, now=NOW + DAY, request=request, person=pw.person)
    assert pw.person.restricted_at == NOW + DAY and request.fulfilled_at == NOW + DAY
    assert not consent.processable_id(pw.person.id)
    with pytest.raises(PrivacyError) as refused:
        requests.fulfil(actor=organiser, now=NOW, request=request, person=pw.person)
    assert refused.value.code == "already_fulfilled"
    requests.lift_restriction(actor=organiser, now=NOW + 2 * DAY, person=pw.person)
    assert consent.processable_id(pw.person.id)
    with pytest.raises(PrivacyError):
        requests.open_request(actor=organiser, now=NOW, person=pw.person, kind="sell_it")


# --- the access export -----------------------------------------------------------------------


def test_the_export_holds_every_kind_of_record(pw):
    data = subject_export.gather(pw.person, now=NOW)
    tables = {t.name for t in db.metadata.sorted_tables if "person_id" in t.c}
    exported = set(data["records"])
    assert tables - subject_export.SKIPPED_TABLES <= exported
    for kind in (
        "enrolments",
        "attendance",
        "evidence",
        "certificates",
        "mentorships",
        "checkin_devices",
        "signup_requests",
        "consents",
    ):
        assert data["records"][kind], kind
    assert data["person"]["full_name"] == NAME and data["person"]["phone"] == PHONE
    assert data["household"]["code"] == "T1-099"
    # No key to the data: the phone link's key and the learner code are left out.
    text = json.dumps(data, ensure_ascii=False)
    assert "a" * 32 not in text and "verify-privacy-1" not in text


def test_the_pdf_reads_back(pw, tmp_path):
    body = subject_export.render_pdf(subject_export.gather(pw.person, now=NOW))
    path = tmp_path / "export.pdf"
    path.write_bytes(body)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert NAME in text and "Điểm danh" in text and "Giấy chứng nhận" in text
    assert "NGOKBAY-2025-000001" in text


# --- erasure ---------------------------------------------------------------------------------


def _every_text_value():
    """Every value of every text and JSON column of every table (JSON decoded)."""
    for table in db.metadata.sorted_tables:
        columns = [
            c
            for c in table.c
            if isinstance(c.type, String | Text | JSON) and not isinstance(c.type, LargeBinary)
        ]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                text = (
                    json.dumps(value, ensure_ascii=False)
                    if isinstance(column.type, JSON)
                    else str(value)
                )
                yield table.name, column.name, text


def test_erasure_leaves_no_trace_and_keeps_certificate_and_totals(pw, client):
    scope = Scope("village", (pw.commune_id,))
    before = figures.table(scope, year=2025, as_of=NOW)
    totals = {r.indicator.code: (r.total.numerator, r.total.denominator) for r in before.rows}
    organiser = pw.users["organiser"]
    request = requests.open_request(
        actor=organiser, now=NOW, person=pw.person, kind=RequestKind.ERASURE
    )
    requests.fulfil(actor=organiser, now=NOW, request=request, person=pw.person)
    db.session.commit()
    db.session.expire_all()
    secrets = [NAME, PHONE, "xuan huong", "Xuân Hương"]
    found = [
        (t, c)
        for t, c, text in _every_text_value()
        if any(s.lower() in text.lower() for s in secrets)
    ]
    assert found == []
    person = db.session.get(Person, pw.person.id)
    assert person.erased_at == NOW and person.full_name.startswith("Đã xoá")
    # Still counted: the totals are unchanged.
    after = figures.table(scope, year=2025, as_of=NOW)
    assert {
        r.indicator.code: (r.total.numerator, r.total.denominator) for r in after.rows
    } == totals
    # The certificate verifies, saying the holder's data was erased.
    page = client.get("/v/verify-privacy-1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="holder-erased"' in html and NAME not in html
    # Logged, and done once only.
    assert db.session.scalar(
        select(AuditEvent.id).where(
            AuditEvent.person_id == pw.person.id, AuditEvent.action == "erase"
        )
    )
    assert db.session.get(DataRequest, request.id).fulfilled_at == NOW
    with pytest.raises(PrivacyError):
        erasure.erase(actor=organiser, now=NOW, person=person)


def test_erasing_one_person_leaves_a_namesake_alone(pw):
    namesake = make_person(pw.v2, NAME, 1970)
    db.session.commit()
    erasure.erase(actor=pw.users["organiser"], now=NOW, person=pw.person)
    db.session.commit()
    assert db.session.get(Person, namesake.id).full_name == NAME


def test_open_requests_are_listed_for_their_commune_only(pw, actions):
    requests.open_request(
        actor=pw.users["organiser"], now=NOW, person=pw.person, kind=RequestKind.ACCESS
    )
    db.session.commit()
    actions.login("organiser")
    assert NAME in actions.client.get("/privacy/requests").get_data(as_text=True)
    actions.logout()
    actions.login("other_organiser")
    page = actions.client.get("/privacy/requests")
    assert page.status_code == 200 and NAME not in page.get_data(as_text=True)
    actions.logout()
    actions.login("lead")
    assert actions.client.get("/privacy/requests").status_code == 403


def test_a_learner_consents_again_on_their_own_phone(pw, app, client):
    import re

    from webapp.checkin import learner_views

    consent.withdraw(actor=pw.users["organiser"], now=NOW, person=pw.person)
    db.session.commit()
    with app.test_request_context():
        client.set_cookie(learner_views.COOKIE, learner_views._signer().dumps("a" * 32))
    home = client.get("/hoc").get_data(as_text=True)
    assert "Đọc và đồng ý" in home
    token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
    notice = client.post("/hoc/dong-y", data={"csrf_token": token, "person_id": pw.person.id})
    assert notice.status_code == 200 and "91/2025/QH15" in notice.get_data(as_text=True)
    assert consent.active(pw.person) is None  # reading is not agreeing
    done = client.post(
        "/hoc/dong-y", data={"csrf_token": token, "person_id": pw.person.id, "agree": "1"}
    )
    assert done.status_code == 303
    db.session.expire_all()
    given = consent.active(db.session.get(Person, pw.person.id))
    assert given.method == "phone" and given.device_id is not None
    assert consent.processable_id(pw.person.id)
    assert "Đọc và đồng ý" not in client.get("/hoc").get_data(as_text=True)
    # Another person (not this phone's): refused, nothing written.
    other = make_person(pw.v1, "Người Khác", 1970)
    db.session.commit()
    refused = client.post(
        "/hoc/dong-y", data={"csrf_token": token, "person_id": other.id, "agree": "1"}
    )
    assert refused.status_code == 400 and consent.active(other) is None


def test_every_path_that_dates_a_consent_records_how_and_by_whom(pw):
    """A consent date typed on the person form (paper), read from an imported list, or given
    on the sign-up form becomes a consent record on the notice in force — never a bare date."""
    from webapp.people import services as people_services

    organiser = pw.users["organiser"]
    data = people_services.PersonInput(
        full_name="Người Mới Đồng Ý",
        birth_year=1970,
        village_id=pw.v1.id,
        target_group="citizen",
        consent_on=(NOW - 2 * DAY).date(),
    )
    person = people_services.create_person(actor=organiser, now=NOW, data=data)
    (given,) = consent.history(person)
    assert (given.method, given.given_on, given.recorded_by_id) == (
        "paper",
        (NOW - 2 * DAY).date(),
        organiser.id,
    )
    # Saving the form again records nothing more; a new date records a new consent.
    people_services.update_person(actor=organiser, now=NOW, person=person, data=data)
    assert len(consent.history(person)) == 1
    # A bare date written by SQL (an old import): recorded as from a list, once.
    other = make_person(pw.v1, "Người Danh Sách", 1965)
    other.consent_on = (NOW - 9 * DAY).date()
    db.session.flush()
    consent.record_dated(actor=None, now=NOW, method=ConsentMethod.IMPORT)
    consent.record_dated(actor=None, now=NOW, method=ConsentMethod.IMPORT)
    assert [c.method for c in consent.history(other)] == ["import"]
