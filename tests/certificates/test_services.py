"""Issuing, serial numbers, revoking, re-issuing and the frozen snapshot."""

import threading
from datetime import UTC, datetime

import pytest

from tests.certificates.conftest import AN, NHUNG, SIGNER, UOT
from tests.factories import NOW, make_class, make_course, make_person
from webapp.accounts.models import User
from webapp.certificates import services
from webapp.certificates.models import Certificate
from webapp.certificates.services import CertificateError
from webapp.extensions import db
from webapp.people.models import Person, Village
from webapp.scheduling.models import CourseClass, Enrolment


def _issue(world, cw, name, *, user="organiser", now=NOW):
    actor = db.session.get(User, world.users[user])
    person = db.session.get(Person, cw.people[name])
    course_class = db.session.get(CourseClass, cw.class_id)
    return services.issue(actor=actor, now=now, person=person, course_class=course_class)


def test_issue_numbers_serials_per_commune_and_local_year(app, world, cert_world):
    with app.app_context():
        first = _issue(world, cert_world, NHUNG)
        second = _issue(world, cert_world, UOT)
        db.session.commit()
        assert (first.serial, second.serial) == ("NGOKBAY-2025-000001", "NGOKBAY-2025-000002")
        # 31/12 17:30 UTC is already 1 January in Vietnam: a new year, a new sequence.
        new_year = services.reissue(
            actor=db.session.get(User, world.users["organiser"]),
            now=datetime(2025, 12, 31, 17, 30, tzinfo=UTC),
            certificate=first,
            reason="sai tên",
        )
        assert new_year.serial == "NGOKBAY-2026-000001"
        assert new_year.snapshot["date_text"] == "Ngọk Bay, ngày 01 tháng 01 năm 2026"
        # Another commune counts on its own.
        other = db.session.get(User, world.users["other_organiser"])
        village = db.session.get(Village, world.other_village_id)
        course_class = make_class(
            make_course(world.other_commune_id, other.id), [], status="finished"
        )
        person = make_person(village, "Trần Văn Bình")
        db.session.add(
            Enrolment(course_class=course_class, person=person, status="enrolled", since=NOW)
        )
        cert = services.issue(actor=other, now=NOW, person=person, course_class=course_class)
        assert cert.serial == "KHAC-2025-000001"


def test_snapshot_holds_every_printed_field(app, world, cert_world):
    with app.app_context():
        cert = _issue(world, cert_world, NHUNG)
        assert cert.snapshot == {
            "full_name": NHUNG,
            "birth_year": 1962,
            "village": "Thôn 2",
            "course": "Kỹ năng số cho người cao tuổi",
            "class_name": "Lớp cao tuổi Thôn 1",
            # only what the course teaches, in framework order, with Vietnamese names
            "competencies": [
                {"code": "0.1", "name": "Sử dụng thiết bị số cơ bản"},
                {"code": "2.3", "name": "Giao dịch trực tuyến an toàn"},
            ],
            "hours": 7.5,
            "date": "2025-11-25",
            "place": "Ngọk Bay",
            "date_text": "Ngọk Bay, ngày 25 tháng 11 năm 2025",
            "commune": "Ngọk Bay",
            "committee": "UBND xã Ngọk Bay",
            "signer_title": "Chủ tịch",
            "signer_name": SIGNER,
            "serial": "NGOKBAY-2025-000001",
            # printed as the app names the version ("phiên bản 1"); the label kept for staff
            "framework_version_number": 1,
            "framework_version": "0.1-draft",
        }
        assert cert.framework_version_id == 1 and len(cert.verify_code) == 16


def test_signer_and_place_come_from_the_configuration(app, world, cert_world, monkeypatch):
    monkeypatch.setitem(app.config, "CERTIFICATE_SIGNER_TITLE", "Phó Chủ tịch")
    monkeypatch.setitem(app.config, "CERTIFICATE_SIGNER_NAME", "  A Xiêm ")
    monkeypatch.setitem(app.config, "CERTIFICATE_PLACE", "Đắk Tô")
    with app.app_context():
        s = _issue(world, cert_world, UOT).snapshot
    assert (s["signer_title"], s["signer_name"]) == ("Phó Chủ tịch", "A Xiêm")
    assert s["date_text"] == "Đắk Tô, ngày 25 tháng 11 năm 2025"


@pytest.mark.parametrize("configured", ["", "   ", None])
def test_nothing_is_issued_while_the_signer_is_not_configured(
    app, world, cert_world, monkeypatch, configured
):
    # A certificate would print "CHỦ TỊCH" with nobody under it: issuing, issuing all and
    # re-issuing are refused, with one stable code, until the name is configured.
    with app.app_context():
        actor = db.session.get(User, world.users["organiser"])
        course_class = db.session.get(CourseClass, cert_world.class_id)
        old = _issue(world, cert_world, UOT)
        db.session.commit()
        monkeypatch.setitem(app.config, "CERTIFICATE_SIGNER_NAME", configured)
        attempts = (
            lambda: _issue(world, cert_world, NHUNG),
            lambda: services.issue_all(actor=actor, now=NOW, course_class=course_class),
            lambda: services.reissue(actor=actor, now=NOW, certificate=old, reason="Sửa tên"),
        )
        for attempt in attempts:
            with pytest.raises(CertificateError) as caught:
                attempt()
            assert (caught.value.code, caught.value.status) == ("signer_not_configured", 409)
            assert "CERTIFICATE_SIGNER_NAME" in caught.value.message
        db.session.rollback()
        assert services.issued_person_ids(course_class) == {cert_world.people[UOT]}
        assert db.session.get(Certificate, old.id).revoked_at is None


def test_date_line_follows_the_decree_for_small_days_and_months():
    from datetime import date

    assert services.date_text("Ngọk Bay", date(2026, 2, 5)) == "Ngọk Bay, ngày 05 tháng 02 năm 2026"
    assert services.date_text("Ngọk Bay", date(2026, 3, 9)) == "Ngọk Bay, ngày 09 tháng 3 năm 2026"


def test_snapshot_does_not_change_when_the_person_is_renamed(app, world, cert_world):
    with app.app_context():
        cert_id = _issue(world, cert_world, UOT).id
        db.session.commit()
        db.session.get(Person, cert_world.people[UOT]).set_name("Đặng Văn Ướt Mới")
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(Certificate, cert_id).snapshot["full_name"] == UOT


def test_not_eligible_is_refused_with_what_is_missing(app, world, cert_world):
    with app.app_context(), pytest.raises(CertificateError) as caught:
        _issue(world, cert_world, AN)
    assert caught.value.code == "not_eligible"
    assert "còn thiếu: 2 buổi học" in caught.value.message


def test_only_enrolled_learners_are_issued(app, world, cert_world):
    with app.app_context():
        outsider = make_person(db.session.get(Village, world.village_ids[0]), "Trần Văn Ngoài")
        cert_world.people["outsider"] = outsider.id
        with pytest.raises(CertificateError) as caught:
            _issue(world, cert_world, "outsider")
    assert caught.value.code == "not_enrolled"


def test_a_second_valid_certificate_is_refused(app, world, cert_world):
    with app.app_context():
        _issue(world, cert_world, NHUNG)
        with pytest.raises(CertificateError) as caught:
            _issue(world, cert_world, NHUNG)
    assert caught.value.code == "already_issued"


@pytest.mark.parametrize("user", ["trainer", "mentor", "lead", "other_organiser"])
def test_only_managers_of_the_commune_issue(app, world, cert_world, user):
    with app.app_context(), pytest.raises(CertificateError) as caught:
        _issue(world, cert_world, NHUNG, user=user)
    assert (caught.value.code, caught.value.status) == ("not_allowed", 403)


def test_issue_all_issues_every_eligible_learner_once(app, world, cert_world):
    with app.app_context():
        actor = db.session.get(User, world.users["admin"])
        course_class = db.session.get(CourseClass, cert_world.class_id)
        _issue(world, cert_world, UOT)
        issued = services.issue_all(actor=actor, now=NOW, course_class=course_class)
        assert [c.snapshot["full_name"] for c in issued] == [NHUNG]
        assert services.issue_all(actor=actor, now=NOW, course_class=course_class) == []
        assert services.issued_person_ids(course_class) == {
            cert_world.people[NHUNG],
            cert_world.people[UOT],
        }


def test_revoke_needs_a_reason_and_happens_once(app, world, cert_world):
    with app.app_context():
        actor = db.session.get(User, world.users["organiser"])
        cert = _issue(world, cert_world, NHUNG)
        with pytest.raises(CertificateError) as caught:
            services.revoke(actor=actor, now=NOW, certificate=cert, reason="  ")
        assert caught.value.code == "reason_missing"
        services.revoke(actor=actor, now=NOW, certificate=cert, reason="Cấp nhầm người")
        assert (cert.revoked_at, cert.revoked_by_id, cert.revoke_reason) == (
            NOW,
            actor.id,
            "Cấp nhầm người",
        )
        with pytest.raises(CertificateError) as caught:
            services.revoke(actor=actor, now=NOW, certificate=cert, reason="again")
        assert caught.value.code == "already_revoked"
        # Once revoked, a new certificate comes only through re-issuing (revoking sticks).
        with pytest.raises(CertificateError) as caught:
            _issue(world, cert_world, NHUNG)
        assert (caught.value.code, caught.value.status) == ("revoked_use_reissue", 409)
        new = services.reissue(actor=actor, now=NOW, certificate=cert)
        assert new.serial == "NGOKBAY-2025-000002" and new.replaces_id == cert.id


def test_reissue_makes_a_new_record_and_revokes_the_old(app, world, cert_world):
    with app.app_context():
        actor = db.session.get(User, world.users["organiser"])
        old = _issue(world, cert_world, UOT)
        db.session.get(Person, cert_world.people[UOT]).set_name("Đặng Văn Ướt Sửa")
        new = services.reissue(actor=actor, now=NOW, certificate=old, reason="Sửa tên")
        db.session.commit()
        assert new.id != old.id and new.replaces_id == old.id
        assert new.serial == "NGOKBAY-2025-000002" and new.verify_code != old.verify_code
        assert old.revoked_at == NOW and old.revoke_reason == "Sửa tên"
        assert new.snapshot["full_name"] == "Đặng Văn Ướt Sửa"
        assert old.snapshot["full_name"] == UOT
        assert services.replaced_by(old) == new


def test_print_order_is_village_then_vietnamese_name(app, world, cert_world):
    with app.app_context():
        for name in (NHUNG, UOT):
            _issue(world, cert_world, name)
        course_class = db.session.get(CourseClass, cert_world.class_id)
        names = [c.snapshot["full_name"] for c in services.class_certificates(course_class)]
        # Thôn 1 (Ướt) before Thôn 2 (Nhung), whatever the order of issue.
        assert names == [UOT, NHUNG]


def _race(app, world, cert_world, names: list[str]) -> list:
    """Issue to ``names`` from as many threads at once; each result is a serial or a code."""
    barrier = threading.Barrier(len(names))
    results: list = [None] * len(names)

    def run(i: int, name: str) -> None:
        with app.app_context():
            try:
                barrier.wait()
                results[i] = _issue(world, cert_world, name).serial
                db.session.commit()
            except CertificateError as error:
                db.session.rollback()
                results[i] = error.code
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, n)) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_issues_get_distinct_serials(app, world, cert_world):
    results = _race(app, world, cert_world, [NHUNG, UOT])
    assert sorted(results) == ["NGOKBAY-2025-000001", "NGOKBAY-2025-000002"]


def test_concurrent_issues_to_one_learner_give_one_certificate(app, world, cert_world):
    results = _race(app, world, cert_world, [NHUNG, NHUNG])
    assert sorted(results) == ["NGOKBAY-2025-000001", "already_issued"]
    with app.app_context():
        assert db.session.query(Certificate).count() == 1


def test_revoking_sticks_issue_all_and_the_pending_count_leave_the_learner_out(
    app, world, cert_world
):
    with app.app_context():
        actor = db.session.get(User, world.users["organiser"])
        course_class = db.session.get(CourseClass, cert_world.class_id)
        first = services.issue_all(actor=actor, now=NOW, course_class=course_class)
        nhung = next(c for c in first if c.snapshot["full_name"] == NHUNG)
        services.revoke(actor=actor, now=NOW, certificate=nhung, reason="Cấp nhầm người")
        eligibilities = services.class_eligibility(course_class, now=NOW)
        assert services.pending_count(course_class, eligibilities) == 0
        assert services.issue_all(actor=actor, now=NOW, course_class=course_class) == []
        assert services.issued_person_ids(course_class) == {cert_world.people[UOT]}
        assert db.session.query(Certificate).count() == 2
        # Re-issuing is the way back, and it points to the revoked one.
        new = services.reissue(actor=actor, now=NOW, certificate=nhung)
        assert new.replaces_id == nhung.id
        with pytest.raises(CertificateError) as caught:
            services.reissue(actor=actor, now=NOW, certificate=nhung)
        assert caught.value.code == "already_replaced"


@pytest.mark.parametrize("status", ["planned", "open", "running", "cancelled"])
def test_nothing_is_issued_before_the_class_is_finished(app, world, cert_world, status):
    with app.app_context():
        actor = db.session.get(User, world.users["organiser"])
        course_class = db.session.get(CourseClass, cert_world.class_id)
        cert = _issue(world, cert_world, UOT)  # while finished
        course_class.status = status
        db.session.flush()
        refusals = (
            lambda: _issue(world, cert_world, NHUNG),
            lambda: services.issue_all(actor=actor, now=NOW, course_class=course_class),
            lambda: services.reissue(actor=actor, now=NOW, certificate=cert, reason="Sửa tên"),
        )
        for refused in refusals:
            with pytest.raises(CertificateError) as caught:
                refused()
            assert (caught.value.code, caught.value.status) == ("class_not_finished", 409)
        assert cert.revoked_at is None and db.session.query(Certificate).count() == 1


def test_snapshot_strings_are_nfc_and_trimmed(app, world, cert_world, monkeypatch):
    import unicodedata

    nfd = unicodedata.normalize("NFD", "  Sử dụng   thiết bị số cơ bản ")
    monkeypatch.setattr(services, "competency_names", lambda version: {"0.1": nfd})
    with app.app_context():
        cert = _issue(world, cert_world, NHUNG)

    def strings(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)
        elif isinstance(value, str):
            yield value

    assert cert.snapshot["competencies"][0] == {"code": "0.1", "name": "Sử dụng thiết bị số cơ bản"}
    for text in strings(cert.snapshot):
        assert text == unicodedata.normalize("NFC", text) and text == text.strip(), text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("serial", "NGOKBAY-2025-999999"),
        ("snapshot", {"full_name": "Người Khác"}),
        ("verify_code", "forged-code"),
        ("person_id", None),
        ("class_id", None),
        ("framework_version_id", None),
        ("issued_at", datetime(2024, 1, 1, tzinfo=UTC)),
        ("issued_by_id", None),
    ],
)
def test_an_issued_certificate_cannot_be_edited(app, world, cert_world, field, value):
    from webapp.certificates.models import CertificateChanged

    with app.app_context():
        cert = _issue(world, cert_world, NHUNG)
        db.session.commit()
        if value is None:  # an id: point it at another row
            value = {
                "person_id": cert_world.people[UOT],
                "class_id": make_class(make_course(world.commune_id, cert.issued_by_id), []).id,
                "framework_version_id": None,
                "issued_by_id": world.users["admin"],
            }[field]
            db.session.commit()
        setattr(cert, field, value)
        with pytest.raises(CertificateChanged) as caught:
            db.session.flush()
        assert caught.value.code == "certificate_immutable" and field in caught.value.message
        db.session.rollback()
        assert getattr(db.session.get(Certificate, cert.id), field) != value


def test_revoking_changes_only_the_revoked_fields(app, world, cert_world):
    with app.app_context():
        actor = db.session.get(User, world.users["organiser"])
        cert = _issue(world, cert_world, NHUNG)
        db.session.commit()
        services.revoke(actor=actor, now=NOW, certificate=cert, reason="Cấp nhầm người")
        db.session.commit()
        assert db.session.get(Certificate, cert.id).revoke_reason == "Cấp nhầm người"
