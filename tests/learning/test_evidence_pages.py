"""A person's evidence: online-course certificates and VNeID entered by staff, withdrawals."""

import re

from sqlalchemy import select

from tests.factories import make_person
from tests.learning import learning_world
from webapp.extensions import db
from webapp.learning.models import Evidence
from webapp.people.models import Village


def _evidence(person_id):
    return list(
        db.session.scalars(
            select(Evidence).where(Evidence.person_id == person_id).order_by(Evidence.id)
        )
    )


def test_mooc_certificate_defaults_to_the_course_codes(app, world, client, actions):
    with app.app_context():
        lw = learning_world.build(world)
    person_id = lw.learners["An"]
    path = f"/people/{person_id}/evidence"
    actions.login("trainer")
    page = client.get(path).get_data(as_text=True)
    checked = set(re.findall(r'<input checked [^>]*value="([\d.]+)"', page))
    assert checked == {"0.1", "2.3"}  # the codes of the course the person is enrolled in
    response = actions.post(
        f"{path}/mooc",
        {
            "platform": "binhdanhocvuso.gov.vn",
            "number": "BDHVS-2025-0042",
            "date": "20/11/2025",
            "competencies": ["0.1", "2.3"],
        },
        token_from=path,
    )
    assert response.status_code == 302
    with app.app_context():
        rows = _evidence(person_id)
        assert [(e.kind, e.competency_code) for e in rows] == [("mooc", "0.1"), ("mooc", "2.3")]
        assert rows[0].detail == {
            "platform": "binhdanhocvuso.gov.vn",
            "number": "BDHVS-2025-0042",
            "date": "2025-11-20",
        }
        assert rows[0].recorded_by_id == world.users["trainer"]
    listing = client.get(path).get_data(as_text=True)
    assert "BDHVS-2025-0042" in listing and "Trainer" in listing


def test_mooc_form_errors_keep_the_page(app, world, client, actions):
    with app.app_context():
        lw = learning_world.build(world)
    path = f"/people/{lw.learners['An']}/evidence"
    actions.login("organiser")
    response = actions.post(
        f"{path}/mooc", {"platform": "x", "number": "", "date": "31/02/2025"}, token_from=path
    )
    assert response.status_code == 422
    with app.app_context():
        assert _evidence(lw.learners["An"]) == []


def test_vneid_and_withdraw_with_who_and_when(app, world, client, actions):
    with app.app_context():
        lw = learning_world.build(world)
    person_id = lw.learners["Bình"]
    path = f"/people/{person_id}/evidence"
    actions.login("lead")  # village lead of the person's village
    response = actions.post(f"{path}/vneid", {"date": "01/11/2025"}, token_from=path)
    assert response.status_code == 302
    with app.app_context():
        (vneid,) = _evidence(person_id)
        assert (vneid.kind, vneid.competency_code, vneid.detail) == (
            "vneid",
            "*",
            {"date": "2025-11-01"},
        )
        evidence_id = vneid.id
    response = actions.post(
        f"/evidence/{evidence_id}/withdraw", {"reason": "Nhầm người"}, token_from=path
    )
    assert response.status_code == 302
    with app.app_context():
        (vneid,) = _evidence(person_id)
        assert vneid.withdrawn_at is not None and vneid.withdrawn_by_id == world.users["lead"]
        assert vneid.withdrawn_reason == "Nhầm người"
    listing = client.get(path).get_data(as_text=True)
    assert "Nhầm người" in listing and "Lead" in listing


def test_who_may_see_and_record(app, world, client, actions):
    with app.app_context():
        lw = learning_world.build(world)
        other_village = db.session.get(Village, world.village_ids[1])
        elsewhere = make_person(other_village, "Hồ Thị Xa").id
        db.session.commit()
    actions.login("lead")
    assert client.get(f"/people/{elsewhere}/evidence").status_code == 404
    actions.logout()
    actions.login("mentor")
    assert client.get(f"/people/{lw.learners['An']}/evidence").status_code == 403
    actions.logout()
    actions.login("other_organiser")
    assert client.get(f"/people/{lw.learners['An']}/evidence").status_code == 404
