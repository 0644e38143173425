"""The impact-assessment annex (/privacy/impact): its counts are the known dataset's, it is the
admins' alone (a commune's admin sees their commune), and it costs the same SQL whatever the
number of people."""

import re
import secrets

import pytest

from tests.factories import NOW, PASSWORD, make_household, make_person, make_user
from tests.sql import statements
from webapp.checkin.models import Device
from webapp.extensions import db
from webapp.people.models import Commune, Village
from webapp.permissions import Role

URL = "/privacy/impact"


def _device(person, *, revoked=False):
    db.session.add(
        Device(
            key=secrets.token_hex(16),
            person_id=person.id,
            created_at=NOW,
            last_used_at=NOW,
            revoked_at=NOW if revoked else None,
        )
    )


@pytest.fixture
def data(app, world, clock):
    """Ngọk Bay: An (phone, vision, poor, 1950, a linked phone), Bình (poor, born 2015), Chi
    (erased), Dũng (phone, 1990, a revoked phone). Xã Khác: Em (phone, other disability, born
    2012, a linked phone). A commune admin of Ngọk Bay."""
    clock.set(NOW)  # 2025: under 16 is born after 2009
    with app.app_context():
        v1 = db.session.get(Village, world.village_ids[0])
        v2 = db.session.get(Village, world.village_ids[1])
        far = db.session.get(Village, world.other_village_id)
        poor = make_household(v1, "T1-001", is_poor=True)
        other = make_household(v2, "T2-001")
        an = make_person(v1, "Nguyễn Văn An", 1950, household=poor, phone="0905123456")
        an.disability = "vision"
        make_person(v1, "Trần Thị Bình", 2015, household=poor)
        make_person(v2, "Đã xoá 3", 1980, household=other, disability="hearing", erased_at=NOW)
        dung = make_person(v2, "Lê Văn Dũng", 1990, phone="0905000111")
        em = make_person(far, "Y Em", 2012, phone="0905222333", disability="other")
        _device(an)
        _device(dung, revoked=True)
        _device(em)
        make_user("admin_ng", Role.ADMIN, db.session.get(Commune, world.commune_id))
        db.session.commit()
    return world


def _row(page: str, row_id: str) -> dict[str, int]:
    found = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
    assert found, row_id
    return {k: int(v) for k, v in re.findall(r'data-key="(\w+)">(\d+)<', found.group(1))}


NGOKBAY = {
    "people": 3,
    "with_phone": 2,
    "with_disability": 1,
    "poor": 2,
    "children": 1,
    "erased": 1,
    "linked_phones": 1,
}
KHAC = {
    "people": 1,
    "with_phone": 1,
    "with_disability": 1,
    "poor": 0,
    "children": 1,
    "erased": 0,
    "linked_phones": 1,
}
NO_STAFF = dict.fromkeys(Role, 0)


def test_the_province_admin_gets_every_commune_counted(app, data, actions):
    actions.login("admin", PASSWORD)
    response = actions.client.get(URL)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _row(page, f"counts-{data.commune_id}") == NGOKBAY
    assert _row(page, f"counts-{data.other_commune_id}") == KHAC
    assert _row(page, "counts-total") == {k: NGOKBAY[k] + KHAC[k] for k in NGOKBAY}
    assert _row(page, "staff-province") == NO_STAFF | {Role.ADMIN: 1}
    assert _row(page, f"staff-{data.commune_id}") == NO_STAFF | {
        Role.ADMIN: 1,
        Role.ORGANISER: 1,
        Role.TRAINER: 1,
        Role.MENTOR: 1,
        Role.VILLAGE_LEAD: 1,
    }
    assert _row(page, f"staff-{data.other_commune_id}") == NO_STAFF | {Role.ORGANISER: 1}
    # the controller, the retention of flask prune, and never a name
    assert "UBND xã Ngọk Bay" in page and "UBND xã Xã Khác" in page
    assert "730" in page and "7 ngày" in page
    for name in ("Nguyễn Văn An", "Trần Thị Bình", "Y Em", "0905123456"):
        assert name not in page


def test_a_commune_admin_gets_their_commune_only(app, data, actions):
    actions.login("admin_ng", PASSWORD)
    page = actions.client.get(URL).get_data(as_text=True)
    assert _row(page, f"counts-{data.commune_id}") == NGOKBAY
    assert f'id="counts-{data.other_commune_id}"' not in page
    assert 'id="staff-province"' not in page and "UBND xã Xã Khác" not in page


@pytest.mark.parametrize("username", ["organiser", "trainer", "mentor", "lead", "other_organiser"])
def test_other_roles_are_refused(app, data, actions, username):
    actions.login(username, PASSWORD)
    assert actions.client.get(URL).status_code == 403


def test_the_page_prints_without_javascript(app, data, actions):
    actions.login("admin", PASSWORD)
    page = actions.client.get(URL).get_data(as_text=True)
    assert "css/impact.css" in page
    assert "hx-get" not in page.split("<main", 1)[-1]


def test_the_counts_cost_the_same_sql_for_ten_times_the_people(app, data, actions):
    actions.login("admin", PASSWORD)

    def count() -> int:
        with statements(app) as seen:
            assert actions.client.get(URL).status_code == 200
        return len(seen)

    before = count()
    with app.app_context():
        village = db.session.get(Village, data.village_ids[0])
        for i in range(40):
            make_person(village, f"Người Thứ {i}", 1960 + i % 50, phone=f"09050{i:05d}")
        db.session.commit()
    assert count() == before
