"""/framework (all staff) and /framework/rules (organisers): saving publishes a new version."""

import re

from tests.factories import NOW
from webapp.extensions import db
from webapp.learning import framework
from webapp.learning.framework import seed_framework


def _seed(app):
    with app.app_context():
        seed_framework(NOW)


def _rules_data(**changes):
    data = {}
    for group, (codes, pct, hours) in {
        "public_sector": (["1.1", "1.2"], 80, "12"),
        "student": (["1.1"], 80, "0"),
        "enterprise_worker": (["0.1"], 80, "8"),
        "citizen": (["0.1", "0.2", "2.3"], 80, "8"),
    }.items():
        codes, pct, hours = changes.get(group, (codes, pct, hours))
        data[f"{group}-required"] = codes
        data[f"{group}-min_attendance_pct"] = str(pct)
        data[f"{group}-min_hours"] = hours
    return data


def test_every_staff_role_reads_the_framework(app, world, client, actions):
    _seed(app)
    actions.login("mentor")
    page = client.get("/framework")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Sử dụng thiết bị" in text and "Device use" in text and "0.1-draft" in text
    assert "/framework/rules" not in text  # only organisers change rules
    assert client.get("/framework?version=9").status_code == 404


def test_rules_edit_publishes_a_new_version_and_keeps_the_old(app, world, client, actions):
    _seed(app)
    actions.login("organiser")
    assert client.get("/framework/rules").status_code == 200
    data = _rules_data(citizen=(["0.1", "2.3"], 75, "6,5"))
    data["note"] = "Người dân: bớt 0.2, 75 %, 6,5 giờ"
    response = actions.post("/framework/rules", data, token_from="/framework/rules")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        v1, v2 = framework.get_version(1), framework.get_version(2)
        assert framework.current_version().id == v2.id
        assert v2.note.startswith("Người dân") and v2.created_by.username == "organiser"
        citizen = v2.rule_for("citizen")
        assert (citizen.required_codes, citizen.min_attendance_pct, citizen.min_hours) == (
            ["0.1", "2.3"],
            75,
            6.5,
        )
        old = v1.rule_for("citizen")
        assert old.required_codes[:3] == ["0.1", "0.2", "1.1"] and old.min_hours == 8.0
        assert len(v2.competencies) == 26 and len(v2.areas) == 7
        assert v2.competencies[5].area.version_id == v2.id
    page = client.get("/framework").get_data(as_text=True)
    assert "Người dân: bớt 0.2" in page


def test_a_note_is_required_and_nothing_is_published_without_it(app, world, client, actions):
    _seed(app)
    actions.login("organiser")
    response = actions.post("/framework/rules", _rules_data(), token_from="/framework/rules")
    assert response.status_code == 422
    bad = _rules_data(citizen=(["0.1"], 180, "x"))
    bad["note"] = "x"
    assert actions.post("/framework/rules", bad, token_from="/framework/rules").status_code == 422
    with app.app_context():
        assert framework.current_version().number == 1
        assert db.session.get(type(framework.current_version()), 2) is None


def test_trainers_may_not_change_rules(app, world, client, actions):
    _seed(app)
    actions.login("trainer")
    assert client.get("/framework/rules").status_code == 403


def test_meeting_hours_count_for_the_groups_ticked(app, world, client, actions):
    _seed(app)
    actions.login("organiser")
    data = _rules_data()
    data["citizen-meeting_hours"] = "y"
    data["note"] = "Người dân: tính giờ gặp Đại sứ số"
    response = actions.post("/framework/rules", data, token_from="/framework/rules")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        v1, v2 = framework.get_version(1), framework.get_version(2)
        assert v2.rule_for("citizen").meeting_hours_count is True
        assert v2.rule_for("student").meeting_hours_count is False
        assert v1.rule_for("citizen").meeting_hours_count is False  # default: no
    assert "tính cả giờ gặp Đại sứ số" in client.get("/framework").get_data(as_text=True)
    form = client.get("/framework/rules").get_data(as_text=True)
    inputs = re.findall(r'(<input [^>]*name="(\w+-meeting_hours)"[^>]*>)', form)
    boxes = {name: tag for tag, name in inputs}
    assert "checked" in boxes["citizen-meeting_hours"]  # the new version's rule, shown again
    assert "checked" not in boxes["student-meeting_hours"]
