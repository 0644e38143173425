"""People pages through HTTP, as each kind of user sees them."""

import pytest

from tests.factories import make_household, make_person
from webapp.extensions import db
from webapp.people.models import Person, Village


@pytest.fixture
def people(app, world):
    with app.app_context():
        v1, v2 = (db.session.get(Village, i) for i in world.village_ids)
        household = make_household(v1, "T1-007")
        ids = {
            "nhung": make_person(v1, "Nguyễn Thị Hồng Nhung", 1958, household=household).id,
            "uot": make_person(v1, "Đặng Văn Ướt", 1990, household=household).id,
            "other_village": make_person(v2, "Nguyễn Văn Bảy", 1970).id,
        }
        for i in range(30):
            make_person(v2, f"Trần Văn Số{i:02d}", 1980)
        db.session.commit()
        return ids | {"household": household.id}


def test_list_search_without_javascript(actions, people):
    actions.login("organiser")
    html = actions.client.get("/people?q=nguyen+thi").get_data(as_text=True)
    assert "<html" in html
    assert "Nguyễn Thị Hồng Nhung" in html
    assert "Nguyễn Văn Bảy" not in html


def test_htmx_search_returns_only_the_results_fragment(actions, people):
    actions.login("organiser")
    response = actions.client.get("/people?q=nguyen", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert "Nguyễn Thị Hồng Nhung" in html and "Nguyễn Văn Bảy" in html
    assert "HX-Request" in response.headers["Vary"]


def test_list_is_paginated(actions, people, app):
    actions.login("organiser")
    first = actions.client.get("/people").get_data(as_text=True)
    assert "page=2" in first
    per_page = app.config["PEOPLE_PER_PAGE"]
    second = actions.client.get("/people?page=2").get_data(as_text=True)
    assert second.count("/people/") - second.count("/people/new") >= 33 - per_page


def test_filters_by_village(actions, people, world):
    actions.login("organiser")
    html = actions.client.get(f"/people?village={world.village_ids[0]}").get_data(as_text=True)
    assert "Đặng Văn Ướt" in html and "Nguyễn Văn Bảy" not in html


def test_village_lead_sees_only_their_village(actions, people):
    actions.login("lead")
    html = actions.client.get("/people").get_data(as_text=True)
    assert "Đặng Văn Ướt" in html and "Trần Văn Số" not in html
    assert actions.client.get(f"/people/{people['other_village']}").status_code == 404
    assert actions.client.get(f"/people/{people['uot']}").status_code == 200


def test_a_village_leads_filter_offers_their_village_only_and_its_print_links(actions, people):
    actions.login("lead")
    html = actions.client.get("/people").get_data(as_text=True)
    select = html[
        html.index('name="village"') : html.index("</select>", html.index('name="village"'))
    ]
    assert "Tất cả các thôn" not in select and "Thôn 2" not in select
    assert "selected" in select and "Thôn 1" in select
    assert "/cards" in html and "/certificates.pdf" in html  # their village's print-outs


def test_a_village_filter_links_the_villages_cards_and_certificates(actions, people, world):
    actions.login("organiser")
    html = actions.client.get("/people").get_data(as_text=True)
    assert "Tất cả các thôn" in html and "/certificates.pdf" not in html
    village = world.village_ids[1]
    html = actions.client.get(f"/people?village={village}").get_data(as_text=True)
    assert f"/villages/{village}/cards" in html
    assert f"/villages/{village}/certificates.pdf" in html
    actions.login("trainer")  # trainers do not print a whole village's cards (learner codes)
    html = actions.client.get(f"/people?village={village}").get_data(as_text=True)
    assert "/cards" not in html and f"/villages/{village}/certificates.pdf" in html


def test_other_commune_cannot_open_a_person(actions, people):
    actions.login("other_organiser")
    assert actions.client.get(f"/people/{people['nhung']}").status_code == 404
    assert actions.client.get(f"/households/{people['household']}").status_code == 404


def test_household_page_lists_members_in_vietnamese_order(actions, people):
    actions.login("trainer")
    html = actions.client.get(f"/households/{people['household']}").get_data(as_text=True)
    assert html.index("Nguyễn Thị Hồng Nhung") < html.index("Đặng Văn Ướt")  # Nhung < Ướt


def test_create_person_with_errors_shows_summary_and_writes_nothing(actions, world, app):
    actions.login("organiser")
    response = actions.post(
        "/people/new",
        {
            "full_name": "",
            "birth_year": "1850",
            "village_id": world.village_ids[0],
            "target_group": "citizen",
            "vneid_level2_on": "31/02/2025",
        },
        token_from="/people/new",
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html
    assert html.count('href="#') >= 3  # name, birth year, date: each linked to its field
    with app.app_context():
        assert db.session.query(Person).count() == 0


def test_create_then_edit_person(actions, world, app):
    actions.login("lead")
    response = actions.post(
        "/people/new",
        {
            "full_name": "Y   Hoa",
            "birth_year": "1961",
            "village_id": world.village_ids[0],
            "target_group": "citizen",
            "ethnic_minority": "y",
            "consent_on": "05/08/2025",
            "phone": "0905 111 222",
        },
        token_from="/people/new",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    detail = actions.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Y Hoa" in detail and "05/08/2025" in detail
    with app.app_context():
        person = db.session.query(Person).one()
        assert person.ethnic_minority and person.phone == "0905111222"
        pid = person.id
    edit = actions.client.get(f"/people/{pid}/edit").get_data(as_text=True)
    assert 'value="Y Hoa"' in edit and 'value="05/08/2025"' in edit
    response = actions.post(
        f"/people/{pid}/edit",
        {
            "full_name": "Y Hoa",
            "birth_year": "1962",
            "village_id": world.village_ids[0],
            "target_group": "citizen",
        },
        token_from=f"/people/{pid}/edit",
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Person, pid).birth_year == 1962


def test_duplicate_asks_for_confirmation(actions, people, world, app):
    actions.login("organiser")
    form = {
        "full_name": "Nguyễn Thị Hồng Nhung",
        "birth_year": "1958",
        "village_id": world.village_ids[0],
        "target_group": "citizen",
    }
    response = actions.post("/people/new", form, token_from="/people/new")
    assert response.status_code == 400
    assert 'name="allow_duplicate"' in response.get_data(as_text=True)
    response = actions.post(
        "/people/new", form | {"allow_duplicate": "y"}, token_from="/people/new"
    )
    assert response.status_code == 302


def test_lead_cannot_create_in_another_village(actions, world):
    actions.login("lead")
    response = actions.post(
        "/people/new",
        {
            "full_name": "Ai Đó",
            "birth_year": "1961",
            "village_id": world.village_ids[1],
            "target_group": "citizen",
        },
        token_from="/people/new",
    )
    assert response.status_code in (400, 403)  # not even offered as a choice


def test_household_edit_marks_a_poor_household(app, actions, people):
    actions.login("lead")
    url = f"/households/{people['household']}"
    page = actions.client.get(url).get_data(as_text=True)
    assert f"{url}/edit" in page
    response = actions.post(
        f"{url}/edit", {"address": "Thôn 1,  xóm  Suối", "is_poor": "y"}, token_from=f"{url}/edit"
    )
    assert response.status_code == 302
    with app.app_context():
        from webapp.people.models import Household

        household = db.session.get(Household, people["household"])
        assert household.is_poor and household.address == "Thôn 1, xóm Suối"
        nhung = db.session.get(Person, people["nhung"])
        assert "poor_household" in nhung.segments(2025)
    page = actions.client.get(url).get_data(as_text=True)
    assert "Hộ nghèo" in page


def test_household_of_another_village_cannot_be_edited_by_a_lead(app, actions, people, world):
    with app.app_context():
        other = make_household(db.session.get(Village, world.village_ids[1]), "T2-001")
        db.session.commit()
        other_id = other.id
    actions.login("lead")
    assert actions.client.get(f"/households/{other_id}/edit").status_code == 404
    actions.logout()
    actions.login("trainer")
    assert f"/households/{people['household']}/edit" not in actions.client.get(
        f"/households/{people['household']}"
    ).get_data(as_text=True)


def test_people_list_query_count_does_not_grow_with_the_page(app, actions, people):
    """Village and household are loaded with the page, not once per row (no N+1)."""
    from tests.sql import statements

    with app.app_context():
        v2 = db.session.get(Village, people_village(people))
        for i in range(25):
            make_person(v2, f"Trần Thị Hộ{i:02d}", 1970, household=make_household(v2, f"T2-{i}"))
        db.session.commit()
    actions.login("organiser")
    with statements(app) as seen:
        actions.client.get("/people?q=tran+thi+ho")  # 25 rows, 25 households
    many = len(seen)
    with statements(app) as seen:
        actions.client.get("/people?q=nhung")  # one row
    one = len(seen)
    assert many <= one + 1, (many, one)


def people_village(people) -> int:
    return db.session.get(Person, people["other_village"]).village_id


def test_back_button_history_restore_gets_the_whole_page(actions, people):
    """htmx re-asks for the URL after Back (no history cache): it needs the full page."""
    actions.login("organiser")
    restore = actions.client.get(
        "/people?q=nguyen", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" in restore and 'role="search"' in restore
