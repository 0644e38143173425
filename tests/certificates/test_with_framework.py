"""Certificates with the real eligibility rule of webapp.learning (no stand-in): attendance
and evidence decide, and the certificate keeps the framework version it was issued under."""

from datetime import timedelta

import pytest

from tests.factories import NOW, make_class, make_course, make_person, make_session
from webapp.accounts.models import User
from webapp.certificates import pdf, services
from webapp.certificates.services import CertificateError
from webapp.checkin.models import Attendance
from webapp.extensions import db
from webapp.learning import services as learning
from webapp.learning.models import Area, CertificateRule, Competency, FrameworkVersion
from webapp.people.models import Village
from webapp.scheduling.models import CourseClass, Enrolment


def _version(number: int, label: str, min_hours: float) -> FrameworkVersion:
    version = FrameworkVersion(number=number, label=label, meta={}, created_at=NOW, note="")
    area = Area(version=version, code="0", name_vi="Sử dụng thiết bị số", name_en="Devices")
    for position, (code, name) in enumerate(
        (("0.1", "Sử dụng điện thoại thông minh"), ("2.3", "Thanh toán trực tuyến an toàn"))
    ):
        db.session.add(
            Competency(
                version=version, area=area, code=code, name_vi=name, name_en=code, position=position
            )
        )
    db.session.add(
        CertificateRule(
            version=version,
            target_group="citizen",
            required_codes=["0.1", "2.3"],
            min_attendance_pct=50,
            min_hours=min_hours,
        )
    )
    db.session.add_all([version, area])
    db.session.flush()
    return version


def test_real_rule_decides_and_the_version_stays_with_the_certificate(app, world):
    with app.app_context():
        organiser = db.session.get(User, world.users["organiser"])
        trainer = db.session.get(User, world.users["trainer"])
        v1 = _version(1, "0.1-draft", min_hours=2)
        course_class = make_class(
            make_course(world.commune_id, trainer.id), [trainer], status="finished"
        )
        person = make_person(db.session.get(Village, world.village_ids[0]), "Đặng Văn Ướt")
        db.session.add(
            Enrolment(course_class=course_class, person=person, status="enrolled", since=NOW)
        )
        for days in (3, 2):
            session = make_session(course_class, NOW - timedelta(days=days), hours=2)
            db.session.add(
                Attendance(
                    occasion_kind="session",
                    occasion_id=session.id,
                    person_id=person.id,
                    status="present",
                    method="roster",
                    recorded_at=NOW,
                    updated_at=NOW,
                )
            )
        learning.record_evidence(
            actor=trainer,
            now=NOW,
            person=person,
            competency_code="0.1",
            kind="checklist",
            class_id=course_class.id,
        )

        def issue():
            return services.issue(
                actor=organiser, now=NOW, person=person, course_class=course_class
            )

        with pytest.raises(CertificateError) as caught:
            issue()
        assert caught.value.code == "not_eligible" and "2.3" in caught.value.message

        learning.record_evidence(
            actor=trainer,
            now=NOW,
            person=person,
            competency_code="2.3",
            kind="checklist",
            class_id=course_class.id,
        )
        certificate = issue()
        assert certificate.framework_version_id == v1.id
        assert certificate.snapshot["framework_version"] == "0.1-draft"
        assert certificate.snapshot["framework_version_number"] == 1  # "phiên bản 1"
        assert certificate.snapshot["hours"] == 4.0
        assert certificate.snapshot["competencies"] == [
            {"code": "0.1", "name": "Sử dụng điện thoại thông minh"},
            {"code": "2.3", "name": "Thanh toán trực tuyến an toàn"},
        ]
        db.session.commit()

        # A stricter rule set is published: the issued certificate does not change, but a
        # re-issue is judged by the new rule.
        _version(2, "0.2", min_hours=10)
        db.session.commit()
        assert certificate.framework_version_id == v1.id
        assert certificate.snapshot["framework_version_number"] == 1
        assert pdf.version_text(certificate.snapshot) == "Khung năng lực số: phiên bản 1"
        with pytest.raises(CertificateError) as caught:
            services.reissue(actor=organiser, now=NOW, certificate=certificate)
        assert caught.value.code == "not_eligible" and certificate.revoked_at is None


def test_before_any_framework_the_class_page_says_so(app, world, client, actions):
    with app.app_context():
        trainer = db.session.get(User, world.users["trainer"])
        course_class = make_class(
            make_course(world.commune_id, trainer.id), [trainer], status="finished"
        )
        person = make_person(db.session.get(Village, world.village_ids[0]), "Đặng Văn Ướt")
        db.session.add(
            Enrolment(course_class=course_class, person=person, status="enrolled", since=NOW)
        )
        db.session.commit()
        class_id, person_id = course_class.id, person.id
    actions.login("organiser")
    page = client.get(f"/classes/{class_id}/certificates")
    assert page.status_code == 200 and "flask framework import" in page.get_data(as_text=True)
    page_url = f"/classes/{class_id}/certificates"
    response = actions.post(
        f"{page_url}/issue", {"person_id": person_id}, token_from=page_url, follow_redirects=True
    )
    text = response.get_data(as_text=True)
    assert "No competency framework" in text or "Chưa nhập khung năng lực" in text
    with app.app_context():
        assert services.issued_person_ids(db.session.get(CourseClass, class_id)) == set()


def test_the_eligibility_page_offers_to_issue_all(app, world, client, actions):
    with app.app_context():
        trainer = db.session.get(User, world.users["trainer"])
        _version(1, "0.1-draft", min_hours=0)
        course_class = make_class(
            make_course(world.commune_id, trainer.id), [trainer], status="finished"
        )
        person = make_person(db.session.get(Village, world.village_ids[0]), "Đặng Văn Ướt")
        db.session.add(
            Enrolment(course_class=course_class, person=person, status="enrolled", since=NOW)
        )
        session = make_session(course_class, NOW - timedelta(days=1), hours=2)
        db.session.add(
            Attendance(
                occasion_kind="session",
                occasion_id=session.id,
                person_id=person.id,
                status="present",
                method="roster",
                recorded_at=NOW,
                updated_at=NOW,
            )
        )
        learning.record_evidence(
            actor=None,
            now=NOW,
            person=person,
            competency_code="*",
            kind="vneid",
            detail={"date": "2025-11-20"},
        )
        db.session.commit()
        class_id = course_class.id
    actions.login("organiser")
    page = client.get(f"/classes/{class_id}/eligibility").get_data(as_text=True)
    assert f"/classes/{class_id}/certificates/issue-all" in page
    actions.post(
        f"/classes/{class_id}/certificates/issue-all", token_from=f"/classes/{class_id}/eligibility"
    )
    with app.app_context():
        issued = services.issued_person_ids(db.session.get(CourseClass, class_id))
    assert len(issued) == 1
    page = client.get(f"/classes/{class_id}/eligibility").get_data(as_text=True)
    assert "/issue-all" not in page and f"/classes/{class_id}/certificates.pdf" in page
