"""The audit trail (issue 17, point 3): every page and file that shows, exports or prints a
person's data, every change and every import writes its event; events are never changed
(ORM and database refuse) and only ``flask prune`` removes them, after the retention; the
admins' pages read them within their commune; bulk exports warn beside their link."""

import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from tests.factories import (
    NOW,
    PASSWORD,
    make_class,
    make_course,
    make_household,
    make_person,
    make_session,
    make_user,
)
from webapp.accounts.models import User
from webapp.certificates import services as certificates
from webapp.certificates.models import Certificate
from webapp.checkin.models import Attendance
from webapp.extensions import db
from webapp.learning import framework
from webapp.learning.framework import seed_framework
from webapp.mentoring import services as mentoring
from webapp.people import audit
from webapp.people.models import Commune, Person, Village
from webapp.people.privacy_models import AuditAction, AuditEvent, PrivacyError
from webapp.permissions import Role
from webapp.reports.services import seed_indicators
from webapp.scheduling.models import Enrolment, EnrolmentStatus

NAME = "Phạm Thị Được Ghi"
FILE_WARNING = "Việc tải về được ghi lại."
LIST_WARNING = "Việc mở và in được ghi lại."


@pytest.fixture
def trail(app, world, clock):
    """Thôn 1's ``person`` (a household, enrolled in a class with one session recorded, a
    certificate, a mentor), a ``left`` villager not reached yet, the plan's indicators, and
    an admin of each commune. The clock stands at NOW."""
    clock.set(NOW)
    with app.app_context():
        v1 = db.session.get(Village, world.village_ids[0])
        organiser = db.session.get(User, world.users["organiser"])
        trainer = db.session.get(User, world.users["trainer"])
        seed_framework(NOW)
        seed_indicators(now=NOW)
        course = make_course(world.commune_id, organiser.id)
        course_class = make_class(course, [trainer], name="Lớp Thôn 1", village_id=v1.id)
        session = make_session(course_class, NOW - timedelta(hours=1))
        person = make_person(v1, NAME, household=make_household(v1, "T1-500"))
        left = make_person(v1, "Trần Văn Chưa Học", 1970)
        person.created_at = left.created_at = NOW - timedelta(days=30)
        db.session.add(
            Enrolment(
                course_class=course_class,
                person_id=person.id,
                status=EnrolmentStatus.ENROLLED,
                since=NOW,
            )
        )
        db.session.add(
            Attendance(
                occasion_kind="session",
                occasion_id=session.id,
                person_id=person.id,
                status="present",
                method="roster",
                recorded_at=NOW,
                recorded_by_id=trainer.id,
                updated_at=NOW,
            )
        )
        eligibility = SimpleNamespace(
            person=person,
            course_class=course_class,
            version=framework.current_version(),
            achieved=[],
            hours=2.0,
        )
        serial = "NGOKBAY-2025-000001"
        certificate = Certificate(
            serial=serial,
            verify_code="verify-audit",
            commune_id=world.commune_id,
            person_id=person.id,
            class_id=course_class.id,
            snapshot=certificates.snapshot(eligibility, serial=serial, now=NOW),
            issued_by_id=organiser.id,
            issued_at=NOW,
        )
        db.session.add(certificate)
        mentor = mentoring.make_mentor(
            actor=organiser,
            now=NOW,
            person=make_person(v1, "Đại Sứ Thôn Một", 1999),
            organisation="youth_union",
            village_id=v1.id,
        )
        mentoring.assign(actor=organiser, now=NOW, mentor=mentor, person=person)
        commune = db.session.get(Commune, world.commune_id)
        other = db.session.get(Commune, world.other_commune_id)
        admins = {
            "commune_admin": make_user("commune_admin", Role.ADMIN, commune).id,
            "other_admin": make_user("other_admin", Role.ADMIN, other).id,
        }
        db.session.commit()
        return SimpleNamespace(
            world=world,
            person_id=person.id,
            left_id=left.id,
            household_id=person.household_id,
            village_id=v1.id,
            class_id=course_class.id,
            session_id=session.id,
            certificate_id=certificate.id,
            organiser_id=organiser.id,
            **admins,
        )


def _events(**where) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return list(db.session.scalars(stmt))


# --- every page and file of a person's data writes its event --------------------------------

#: (URL, endpoint, action): pages and files that show the person, each logged for them.
PER_PERSON = [
    ("/people/{person_id}", "people.detail", AuditAction.VIEW),
    ("/households/{household_id}", "people.household", AuditAction.VIEW),
    ("/people/{person_id}/attendance", "checkin_records.person", AuditAction.VIEW),
    ("/sessions/{session_id}/register", "checkin_records.register", AuditAction.VIEW),
    ("/sessions/{session_id}/register.xlsx", "checkin_records.register_xlsx", AuditAction.EXPORT),
    ("/classes/{class_id}/attendance", "checkin_records.class_grid", AuditAction.VIEW),
    ("/classes/{class_id}/attendance.xlsx", "checkin_records.class_grid_xlsx", AuditAction.EXPORT),
    ("/classes/{class_id}/cards", "checkin_cards.class_cards", AuditAction.PRINT),
    ("/villages/{village_id}/cards", "checkin_cards.village_cards", AuditAction.PRINT),
    ("/sessions/{session_id}/sheet", "checkin_cards.sheet", AuditAction.PRINT),
    ("/certificates/{certificate_id}", "certificates.detail", AuditAction.VIEW),
    ("/certificates/{certificate_id}.pdf", "certificates.certificate_pdf", AuditAction.EXPORT),
    ("/certificates/{certificate_id}/print", "certificates.print_view", AuditAction.PRINT),
    ("/classes/{class_id}/certificates.pdf", "certificates.class_pdf", AuditAction.EXPORT),
    ("/villages/{village_id}/certificates.pdf", "certificates.village_pdf", AuditAction.EXPORT),
]


@pytest.mark.parametrize(("path", "endpoint", "action"), PER_PERSON)
def test_each_page_and_file_of_a_person_is_logged_for_them(
    app, trail, actions, path, endpoint, action
):
    actions.login("organiser")
    response = actions.client.get(path.format(**vars(trail)))
    assert response.status_code == 200, (path, response.status_code)
    with app.app_context():
        (event,) = _events(person_id=trail.person_id, what=endpoint)
        assert event.action == action
        assert event.user_id == trail.organiser_id and event.role == Role.ORGANISER
        assert event.commune_id == trail.world.commune_id
        assert event.rows is None
        assert event.at == NOW
        assert event.address == "127.0.0.1"


#: (URL, endpoint, action, rows): bulk files and lists, one event for their many people.
BULK = [
    ("/mentoring/export.xlsx", "mentoring_overview.export", AuditAction.EXPORT, 2),
    # the digest names the mentee who was never visited
    ("/mentoring/digest", "mentoring_overview.digest", AuditAction.PRINT, 1),
    (
        "/reports/left/adults_basic?year=2025&village={village_id}",
        "reports.left",
        AuditAction.PRINT,
        2,  # the mentor and the villager not reached yet (the person has a certificate)
    ),
    ("/reports/export.xlsx?year=2025", "reports_export.xlsx", AuditAction.EXPORT, 2),
    ("/reports/export.csv?year=2025", "reports_export.csv", AuditAction.EXPORT, 2),
    ("/reports/aggregates.csv?year=2025", "reports_export.aggregates", AuditAction.EXPORT, 2),
    ("/reports/print?year=2025", "reports_export.print_page", AuditAction.PRINT, 2),
]


@pytest.mark.parametrize(("path", "endpoint", "action", "rows"), BULK)
def test_a_bulk_file_or_list_is_one_event_with_its_number_of_rows(
    app, trail, actions, path, endpoint, action, rows
):
    actions.login("organiser")
    response = actions.client.get(path.format(**vars(trail)))
    assert response.status_code == 200, (path, response.status_code)
    with app.app_context():
        (event,) = _events(what=endpoint)
        assert event.action == action and event.person_id is None
        assert event.user_id == trail.organiser_id
        assert event.commune_id == trail.world.commune_id
        assert event.rows == rows, (endpoint, event.rows)


def test_the_who_is_left_list_counts_its_people(app, trail, actions):
    actions.login("lead")
    page = actions.client.get(
        f"/reports/left/adults_basic?year=2025&village={trail.village_id}"
    ).get_data(as_text=True)
    assert "Trần Văn Chưa Học" in page
    with app.app_context():
        (event,) = _events(what="reports.left")
        assert event.rows == page.count("<tr><td>") >= 1
        assert event.role == Role.VILLAGE_LEAD


def test_registering_and_editing_a_person_is_a_change(app, trail, actions):
    actions.login("organiser")
    form = {
        "full_name": "Lê Thị Mới Đăng",
        "birth_year": "1955",
        "village_id": str(trail.village_id),
        "target_group": "citizen",
    }
    response = actions.post("/people/new", form, token_from="/people/new")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.full_name == "Lê Thị Mới Đăng"))
        (created,) = _events(person_id=person.id, action=AuditAction.CHANGE)
        assert created.what == "people.create" and created.user_id == trail.organiser_id
        assert created.address == "127.0.0.1"
    edit = f"/people/{person.id}/edit"
    response = actions.post(edit, form | {"birth_year": "1956"}, token_from=edit)
    assert response.status_code == 302
    with app.app_context():
        changes = _events(person_id=person.id, action=AuditAction.CHANGE)
        assert [e.what for e in changes] == ["people.create", "people.edit"]


def test_editing_a_household_is_a_change_of_each_member(app, trail, actions):
    actions.login("organiser")
    edit = f"/households/{trail.household_id}/edit"
    response = actions.post(edit, {"address": "Tổ 3", "is_poor": "y"}, token_from=edit)
    assert response.status_code == 302
    with app.app_context():
        (event,) = _events(action=AuditAction.CHANGE)
        assert (event.what, event.person_id) == ("people.household_edit", trail.person_id)


def test_a_refused_change_writes_no_event(app, trail, actions):
    actions.login("organiser")
    edit = f"/people/{trail.person_id}/edit"
    form = {"full_name": NAME, "birth_year": "1800", "village_id": str(trail.village_id)}
    response = actions.post(edit, form | {"target_group": "citizen"}, token_from=edit)
    assert response.status_code == 400
    with app.app_context():
        assert _events(action=AuditAction.CHANGE) == []


def test_an_import_is_one_event_with_the_people_written(app, trail, actions):
    actions.login("organiser")
    csv = "Họ và tên,Năm sinh,Thôn,Nhóm đối tượng\nNguyễn Văn Nhập,1960,Thôn 1,Người dân\n"
    csv += "Trần Thị Nhập,1962,Thôn 1,Người dân\n"
    response = actions.post(
        "/people/import",
        {"commune_id": str(trail.world.commune_id), "file": (io.BytesIO(csv.encode()), "a.csv")},
        token_from="/people/import",
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    preview = response.headers["Location"]
    response = actions.post(preview + "/commit", token_from=preview)
    assert response.status_code == 302
    with app.app_context():
        (event,) = _events(action=AuditAction.IMPORT)
        assert event.rows == 2 and event.person_id is None
        assert event.what == "imports.commit" and event.commune_id == trail.world.commune_id
        assert _events(action=AuditAction.CHANGE) == []  # the import is one event


# --- bulk exports warn beside their link -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "warning"),
    [
        ("/mentoring", "Tệp này chứa dữ liệu cá nhân của 2 người. " + FILE_WARNING),
        ("/sessions/{session_id}/register", "dữ liệu cá nhân của 1 người. " + FILE_WARNING),
        ("/classes/{class_id}/attendance", "dữ liệu cá nhân của 1 người. " + FILE_WARNING),
        ("/reports?year=2025&village={village_id}", LIST_WARNING),
        ("/reports/left/adults_basic?year=2025&village={village_id}", LIST_WARNING),
    ],
)
def test_pages_linking_to_bulk_exports_show_the_warning(trail, actions, path, warning):
    actions.login("organiser")
    page = actions.client.get(path.format(**vars(trail))).get_data(as_text=True)
    assert warning in page, path


def test_the_warning_in_english(trail, actions):
    actions.login("organiser")
    actions.post("/language", {"lang": "en"})
    page = actions.client.get("/mentoring").get_data(as_text=True)
    assert "This file contains the personal data of 2 people. Downloading it is logged." in page


# --- never changed, removed only by the retention -------------------------------------------


@pytest.fixture
def event(app, trail):
    with app.app_context():
        found = audit.record(
            actor=db.session.get(User, trail.organiser_id),
            now=NOW,
            action=AuditAction.VIEW,
            what="people.detail",
            person=db.session.get(Person, trail.person_id),
            address="10.0.0.1",
        )
        db.session.commit()
        yield found


def test_the_orm_refuses_to_change_an_event(event):
    event.what = "something else"
    with pytest.raises(PrivacyError) as refused:
        db.session.flush()
    assert refused.value.code == "audit_immutable"
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id).what == "people.detail"


def test_the_orm_refuses_to_delete_an_event(event):
    db.session.delete(event)
    with pytest.raises(PrivacyError):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id) is not None


@pytest.mark.parametrize(
    "statement",
    [
        lambda e: text("UPDATE audit_events SET what = 'x' WHERE id = :id").bindparams(id=e.id),
        lambda e: update(AuditEvent).where(AuditEvent.id == e.id).values(address="1.2.3.4"),
    ],
    ids=["sql", "orm-bulk"],
)
def test_the_database_refuses_an_update(event, statement):
    with pytest.raises(DBAPIError):
        db.session.execute(statement(event))
    db.session.rollback()
    db.session.expire_all()
    found = db.session.get(AuditEvent, event.id)
    assert (found.what, found.address) == ("people.detail", "10.0.0.1")


def test_prune_removes_only_the_events_past_the_retention(app, trail):
    with app.app_context():
        organiser = db.session.get(User, trail.organiser_id)
        for days in (800, 731, 729, 1):
            audit.record(
                actor=organiser, now=NOW - timedelta(days=days), action="view", what=f"d{days}"
            )
        db.session.commit()
        assert audit.prune(now=NOW, days=730) == 2
        db.session.commit()
        assert [e.what for e in _events()] == ["d729", "d1"]


def test_flask_prune_keeps_the_configured_retention(app, trail, runner, clock):
    with app.app_context():
        organiser = db.session.get(User, trail.organiser_id)
        for days in (40, 20):
            audit.record(
                actor=organiser, now=NOW - timedelta(days=days), action="view", what=f"d{days}"
            )
        db.session.commit()
    app.config["AUDIT_RETENTION_DAYS"] = 30
    try:
        result = runner.invoke(args=["prune"])
    finally:
        app.config["AUDIT_RETENTION_DAYS"] = audit.DEFAULT_RETENTION_DAYS
    assert result.exit_code == 0, result.output
    assert "Removed 1 audit events older than 30 days." in result.output
    with app.app_context():
        assert [e.what for e in _events()] == ["d20"]


def test_the_default_retention_is_the_configured_one(app):
    assert app.config["AUDIT_RETENTION_DAYS"] == audit.DEFAULT_RETENTION_DAYS


# --- the admins' pages --------------------------------------------------------------------------


def test_the_admin_reads_who_viewed_a_person(app, trail, actions):
    actions.login("organiser")
    actions.client.get(f"/people/{trail.person_id}")
    actions.client.get(f"/sessions/{trail.session_id}/register.xlsx")
    actions.logout()
    actions.login("commune_admin", PASSWORD)
    detail = actions.client.get(f"/people/{trail.person_id}").get_data(as_text=True)
    assert f"/people/{trail.person_id}/audit" in detail
    page = actions.client.get(f"/people/{trail.person_id}/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert NAME in html and "Organiser (organiser)" in html
    assert "trang thông tin người học" in html and "sổ điểm danh buổi học (Excel)" in html
    assert "127.0.0.1" in html
    users = actions.client.get("/users").get_data(as_text=True)
    assert f"/users/{trail.organiser_id}/audit" in users
    html = actions.client.get(f"/users/{trail.organiser_id}/audit").get_data(as_text=True)
    assert NAME in html and f"/people/{trail.person_id}" in html


def test_the_audit_link_is_for_admins_only(trail, actions):
    actions.login("organiser")
    assert "/audit" not in actions.client.get(f"/people/{trail.person_id}").get_data(as_text=True)
    assert "/audit" not in actions.client.get("/users").get_data(as_text=True)


@pytest.mark.parametrize("username", ["lead", "organiser", "trainer", "mentor"])
def test_other_roles_cannot_open_the_audit_pages(trail, actions, username):
    actions.login(username, PASSWORD)
    for path in (f"/people/{trail.person_id}/audit", f"/users/{trail.organiser_id}/audit"):
        assert actions.client.get(path).status_code in (403, 404), (username, path)


def test_an_admin_of_another_commune_gets_404(trail, actions):
    actions.login("other_admin", PASSWORD)
    assert actions.client.get(f"/people/{trail.person_id}/audit").status_code == 404
    assert actions.client.get(f"/users/{trail.organiser_id}/audit").status_code == 404


def test_a_commune_admin_reads_only_their_communes_events(app, trail, actions):
    with app.app_context():
        audit.record(
            actor=None,
            now=NOW,
            action=AuditAction.VIEW,
            what="elsewhere.page",
            person_id=trail.person_id,
            commune_id=trail.world.other_commune_id,
        )
        db.session.commit()
    actions.login("commune_admin", PASSWORD)
    assert "elsewhere.page" not in actions.client.get(f"/people/{trail.person_id}/audit").get_data(
        as_text=True
    )
    actions.logout()
    actions.login("admin", PASSWORD)  # province-wide
    assert "elsewhere.page" in actions.client.get(f"/people/{trail.person_id}/audit").get_data(
        as_text=True
    )


def test_the_trail_shows_the_newest_events_with_a_note_past_the_limit(
    app, trail, actions, monkeypatch
):
    from webapp.people import audit_views

    monkeypatch.setattr(audit_views, "LIMIT", 3)
    with app.app_context():
        for minutes in range(5):
            audit.record(
                actor=None,
                now=NOW - timedelta(minutes=minutes),
                action=AuditAction.VIEW,
                what=f"page.{minutes}",
                person_id=trail.person_id,
                commune_id=trail.world.commune_id,
            )
        db.session.commit()
    actions.login("admin", PASSWORD)
    html = actions.client.get(f"/people/{trail.person_id}/audit").get_data(as_text=True)
    assert "Đang hiện 3 sự kiện mới nhất." in html
    assert "page.0" in html and "page.2" in html and "page.3" not in html
