"""The mentoring management pages (organisers, village leads): the list of mentors with their
counts and flags, making a mentor, assigning a person or a household, ending and reassigning,
the scope of a village lead, refusals shown in Vietnamese, and CSRF on every POST."""

import pytest
from sqlalchemy import func, select

from tests.factories import NOW, make_household
from webapp.extensions import db
from webapp.mentoring import queries, services
from webapp.mentoring.models import Mentor, Mentorship
from webapp.permissions import Role


@pytest.fixture
def en(client):
    client.set_cookie("lang", "en")  # messages as written in the code


def give(mw, mentor, *people):
    for person in people:
        services.assign(actor=mw.users["organiser"], now=NOW, mentor=mentor, person=person)
    db.session.commit()


def mentorships(mentor_id: int, active: bool = True) -> list[Mentorship]:
    db.session.expire_all()
    stmt = select(Mentorship).where(Mentorship.mentor_id == mentor_id)
    stmt = stmt.where(Mentorship.active if active else Mentorship.ended_at.is_not(None))
    return list(db.session.scalars(stmt))


def follow(actions, response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    return actions.client.get(response.headers["Location"]).get_data(as_text=True)


def mentor_path(mentor) -> str:
    return f"/mentoring/mentors/{mentor.id}"


# --- the list --------------------------------------------------------------------------------


def test_the_list_shows_counts_and_the_under_minimum_flag(mw, actions, en):
    an, binh = mw.mentors["an"], mw.mentors["binh"]
    give(mw, an, *(mw.villager(f"Người Số {i}") for i in range(5)))
    give(mw, binh, mw.villager("Đỗ Thị Một"))
    actions.login("organiser")
    html = actions.client.get("/mentoring/mentors").get_data(as_text=True)
    assert "Nguyễn Văn An" in html and "Lê Văn Cường" in html
    an_row = html.split(f'id="mentor-{an.id}"')[1].split("</tr>")[0]
    binh_row = html.split(f'id="mentor-{binh.id}"')[1].split("</tr>")[0]
    assert ">5" in an_row and "below the minimum" not in an_row
    assert ">1" in binh_row and "below the minimum" in binh_row
    assert "has no mentor helping at the public-service centre" in html
    assert f'href="{mentor_path(an)}"' in html and 'href="/mentoring/mentors/new"' in html


def test_the_counter_helper_warning_goes_once_there_is_one(mw, actions, en):
    mw.mentor("Phan Văn Quầy", counter_helper=True)
    db.session.commit()
    actions.login("organiser")
    html = actions.client.get("/mentoring/mentors").get_data(as_text=True)
    assert "public-service centre" not in html.split("<table")[0].split("</h1>")[1]
    assert "Counter helper" in html


def test_the_list_filters_active_and_former_mentors(mw, actions, en):
    services.end_mentor(actor=mw.users["organiser"], now=NOW, mentor=mw.mentors["binh"])
    db.session.commit()
    actions.login("organiser")
    active = actions.client.get("/mentoring/mentors").get_data(as_text=True)
    ended = actions.client.get("/mentoring/mentors?status=ended").get_data(as_text=True)
    assert "Trần Thị Bình" not in active and "Nguyễn Văn An" in active
    assert "Trần Thị Bình" in ended and "Nguyễn Văn An" not in ended


def test_a_village_lead_lists_only_their_village(mw, actions, en):
    actions.login("lead2")
    html = actions.client.get("/mentoring/mentors").get_data(as_text=True)
    assert "Lê Văn Cường" in html
    assert "Nguyễn Văn An" not in html and "Trần Thị Bình" not in html


# --- making a mentor -------------------------------------------------------------------------


def test_make_a_mentor_through_the_search_and_the_form(mw, actions, en):
    person = mw.villager("Hồ Thị Giúp", 2001)
    db.session.commit()
    actions.login("organiser")
    found = actions.client.get("/mentoring/mentors/new?q=ho thi giup").get_data(as_text=True)
    assert "<html" in found and f"person_id={person.id}" in found
    fragment = actions.client.get(
        "/mentoring/mentors/new?q=giup", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and "Hồ Thị Giúp" in fragment
    an = mw.mentors["an"]
    mentors = actions.client.get("/mentoring/mentors/new?q=nguyen van an").get_data(as_text=True)
    assert "Already a mentor" in mentors and f"person_id={an.person_id}" not in mentors
    path = f"/mentoring/mentors/new?person_id={person.id}"
    chosen = actions.client.get(path).get_data(as_text=True)
    assert 'name="organisation"' in chosen and f'value="{person.id}"' in chosen
    data = {
        "person_id": person.id,
        "organisation": "public_service_centre",
        "village_id": mw.v1.id,
        "counter_helper": "y",
    }
    html = follow(actions, actions.post("/mentoring/mentors/new", data, token_from=path))
    assert "Hồ Thị Giúp is now a mentor." in html
    mentor = db.session.scalar(select(Mentor).where(Mentor.person_id == person.id))
    assert mentor.counter_helper and mentor.village_id == mw.v1.id
    assert mentor.organisation == "public_service_centre"


def test_making_a_mentor_twice_is_refused_with_the_message(mw, actions, en):
    path = f"/mentoring/mentors/new?person_id={mw.mentors['an'].person_id}"
    actions.login("organiser")
    data = {"person_id": mw.mentors["an"].person_id, "organisation": "school", "village_id": ""}
    response = actions.post("/mentoring/mentors/new", data, token_from=path)
    assert response.status_code == 409
    assert "Nguyễn Văn An is already a mentor." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Mentor)) == 3


def test_editing_a_mentor_saves_the_details(mw, actions, en):
    binh = mw.mentors["binh"]
    path = f"{mentor_path(binh)}/edit"
    actions.login("organiser")
    assert 'name="organisation"' in actions.client.get(path).get_data(as_text=True)
    data = {"organisation": "school", "village_id": mw.v2.id}
    html = follow(actions, actions.post(path, data, token_from=path))
    assert "The details of Trần Thị Bình are saved." in html
    db.session.expire_all()
    assert (binh.organisation, binh.village_id, binh.counter_helper) == ("school", mw.v2.id, False)


# --- assigning -------------------------------------------------------------------------------


def test_assign_a_person_from_the_search(mw, actions, en):
    an = mw.mentors["an"]
    person = mw.villager("Võ Thị Học")
    db.session.commit()
    actions.login("organiser")
    found = actions.client.get(f"{mentor_path(an)}?q=vo thi hoc").get_data(as_text=True)
    assert f'name="person_id" value="{person.id}"' in found
    fragment = actions.client.get(
        f"{mentor_path(an)}?q=hoc", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and "Võ Thị Học" in fragment
    response = actions.post(
        f"{mentor_path(an)}/assign",
        {"person_id": person.id, "q": "hoc"},
        token_from=mentor_path(an),
    )
    assert response.headers["Location"].endswith(f"{mentor_path(an)}?q=hoc")
    html = follow(actions, response)
    assert "Võ Thị Học now has Nguyễn Văn An as mentor." in html
    assert "Mentored by Nguyễn Văn An" in html  # the search result says so, no button
    assert [m.person_id for m in mentorships(an.id)] == [person.id]


def test_assign_a_household_reports_the_skipped_members(mw, actions, en):
    an, binh = mw.mentors["an"], mw.mentors["binh"]
    household = make_household(mw.v1, "T1-050")
    ong = mw.villager("Phạm Văn Ông", 1946, household=household)
    ba = mw.villager("Phạm Thị Bà", 1950, household=household)
    chau = mw.villager("Phạm Văn Cháu", 2001, household=household)
    give(mw, binh, chau)
    actions.login("organiser")
    response = actions.post(
        f"{mentor_path(an)}/assign", {"household_id": household.id}, token_from=mentor_path(an)
    )
    html = follow(actions, response)
    assert "Household T1-050: 2 people assigned." in html
    assert "Not assigned: Phạm Văn Cháu already has a mentor (Trần Thị Bình)." in html
    assert {m.person_id for m in mentorships(an.id)} == {ong.id, ba.id}


def test_suggestions_offer_buttons_per_person_and_household(mw, actions, en):
    an = mw.mentors["an"]
    household = make_household(mw.v1, "T1-060", is_poor=True)
    old = mw.villager("Đinh Văn Già", 1940, household=household)
    mw.villager("Đinh Thị Vợ", 1945, household=household)
    db.session.commit()
    actions.login("organiser")
    html = actions.client.get(mentor_path(an)).get_data(as_text=True)
    assert "below the minimum of 5" in html and "Suggested people without a mentor" in html
    part = html.split('id="suggestions-title"')[1].split("</section>")[0]
    assert f'name="person_id" value="{old.id}"' in part
    assert f'name="household_id" value="{household.id}"' in part
    assert "Poor household" in part and "Older person (60+)" in part


# --- ending and reassigning --------------------------------------------------------------------


def test_end_a_mentorship_with_a_reason_and_the_history_shows_it(mw, actions, en):
    an = mw.mentors["an"]
    person = mw.villager("Lý Thị Xong")
    give(mw, an, person)
    mentorship = mentorships(an.id)[0]
    actions.login("organiser")
    html = follow(
        actions,
        actions.post(
            f"/mentoring/mentorships/{mentorship.id}/end",
            {"reason": "moved_away", "note": "vào Nam làm việc"},
            token_from=mentor_path(an),
        ),
    )
    assert "The mentorship of Lý Thị Xong has ended." in html
    history = html.split('id="history-title"')[1]
    assert "Lý Thị Xong" in history and "Moved away — vào Nam làm việc" in history
    assert mentorships(an.id) == []


def test_ending_with_reassigned_as_reason_is_refused(mw, actions, en):
    an = mw.mentors["an"]
    give(mw, an, mw.villager("Lý Thị Ở"))
    mentorship = mentorships(an.id)[0]
    actions.login("organiser")
    html = follow(
        actions,
        actions.post(
            f"/mentoring/mentorships/{mentorship.id}/end",
            {"reason": "reassigned"},
            token_from=mentor_path(an),
        ),
    )
    assert "Not a valid choice." in html
    assert len(mentorships(an.id)) == 1


def test_reassign_to_another_mentor_keeps_the_history(mw, actions, en):
    an, binh = mw.mentors["an"], mw.mentors["binh"]
    person = mw.villager("Mai Thị Chuyển")
    give(mw, an, person)
    mentorship = mentorships(an.id)[0]
    actions.login("organiser")
    page = actions.client.get(mentor_path(an)).get_data(as_text=True)
    assert f'<option value="{binh.id}">Trần Thị Bình' in page
    html = follow(
        actions,
        actions.post(
            f"/mentoring/mentorships/{mentorship.id}/reassign",
            {"new_mentor_id": binh.id},
            token_from=mentor_path(an),
        ),
    )
    assert "Mai Thị Chuyển now has Trần Thị Bình as mentor." in html
    assert "Given to another mentor" in html.split('id="history-title"')[1]
    assert [m.person_id for m in mentorships(binh.id)] == [person.id]
    assert [m.end_reason for m in mentorships(an.id, active=False)] == ["reassigned"]


def test_ending_a_mentor_frees_their_mentees(mw, actions, en):
    binh = mw.mentors["binh"]
    give(mw, binh, mw.villager("Tạ Văn Một"), mw.villager("Tạ Văn Hai"))
    actions.login("organiser")
    response = actions.post(
        f"{mentor_path(binh)}/end", {"note": "đi học xa"}, token_from=mentor_path(binh)
    )
    html = follow(actions, response)
    assert "Trần Thị Bình is no longer a mentor; 2 mentees now have no mentor." in html
    assert "No longer a mentor since" in html
    assert mentorships(binh.id) == []


def test_link_and_unlink_a_log_in(mw, actions, en):
    binh = mw.mentors["binh"]
    actions.login("organiser")
    page = actions.client.get(mentor_path(binh)).get_data(as_text=True)
    assert f'value="{mw.users["mentor2"].id}"' in page
    path = f"{mentor_path(binh)}/link"
    html = follow(
        actions,
        actions.post(path, {"user_id": mw.users["mentor2"].id}, token_from=mentor_path(binh)),
    )
    assert "Trần Thị Bình signs in as mentor2." in html
    html = follow(
        actions,
        actions.post(path, {"user_id": mw.users["mentor"].id}, token_from=mentor_path(binh)),
    )
    assert "This log-in already belongs to another mentor." in html
    db.session.expire_all()
    assert binh.user_id == mw.users["mentor2"].id
    follow(actions, actions.post(path, {"user_id": ""}, token_from=mentor_path(binh)))
    db.session.expire_all()
    assert binh.user_id is None


# --- scope, refusals, CSRF ---------------------------------------------------------------------


def test_a_village_lead_of_thon_2_gets_404_for_a_thon_1_mentor(mw, actions, en):
    an = mw.mentors["an"]
    give(mw, an, mw.villager("Kha Thị Mến"))
    mentorship = mentorships(an.id)[0]
    actions.login("lead2")
    token_from = mentor_path(mw.mentors["cuong"])
    assert actions.client.get(mentor_path(an)).status_code == 404
    assert actions.client.get(f"{mentor_path(an)}/edit").status_code == 404
    person = mw.villager("Kha Văn Hai", village=mw.v2)
    db.session.commit()
    assign = actions.post(
        f"{mentor_path(an)}/assign", {"person_id": person.id}, token_from=token_from
    )
    assert assign.status_code == 404
    ended = actions.post(
        f"/mentoring/mentorships/{mentorship.id}/end", {"reason": "stopped"}, token_from=token_from
    )
    assert ended.status_code == 404
    assert len(mentorships(an.id)) == 1 and queries.active_mentorship_of(person.id) is None


def test_a_village_lead_manages_their_own_village_but_links_no_log_in(mw, actions, en):
    cuong = mw.mentors["cuong"]
    person = mw.villager("Y Thị Hai", village=mw.v2)
    db.session.commit()
    actions.login("lead2")
    page = actions.client.get(mentor_path(cuong)).get_data(as_text=True)
    assert f"{mentor_path(cuong)}/link" not in page
    response = actions.post(
        f"{mentor_path(cuong)}/assign", {"person_id": person.id}, token_from=mentor_path(cuong)
    )
    assert "Y Thị Hai now has Lê Văn Cường as mentor." in follow(actions, response)
    linked = actions.post(
        f"{mentor_path(cuong)}/link", {"user_id": ""}, token_from=mentor_path(cuong)
    )
    assert linked.status_code == 403


def test_mentors_get_403_on_every_management_page(mw, actions):
    actions.login("mentor")
    an = mw.mentors["an"]
    for path in ("/mentoring/mentors", "/mentoring/mentors/new", mentor_path(an)):
        assert actions.client.get(path).status_code == 403, path


def test_an_already_mentored_person_is_refused_in_vietnamese_and_nothing_written(mw, actions):
    an, binh = mw.mentors["an"], mw.mentors["binh"]
    person = mw.villager("Ông Văn Có")
    give(mw, binh, person)
    actions.login("organiser")
    html = follow(
        actions,
        actions.post(
            f"{mentor_path(an)}/assign", {"person_id": person.id}, token_from=mentor_path(an)
        ),
    )
    assert "Ông Văn Có đã có người hướng dẫn (Trần Thị Bình)." in html
    assert mentorships(an.id) == [] and len(mentorships(binh.id)) == 1


def test_every_post_needs_the_csrf_token(mw, actions, en):
    an = mw.mentors["an"]
    person = mw.villager("Bùi Thị Không")
    give(mw, an, mw.villager("Bùi Văn Có"))
    mentorship = mentorships(an.id)[0]
    actions.login("organiser")
    posts = {
        "/mentoring/mentors/new": {"person_id": person.id, "organisation": "school"},
        f"{mentor_path(an)}/edit": {"organisation": "school"},
        f"{mentor_path(an)}/end": {},
        f"{mentor_path(an)}/link": {"user_id": ""},
        f"{mentor_path(an)}/assign": {"person_id": person.id},
        f"/mentoring/mentorships/{mentorship.id}/end": {"reason": "finished"},
        f"/mentoring/mentorships/{mentorship.id}/reassign": {
            "new_mentor_id": mw.mentors["binh"].id
        },
    }
    for path, data in posts.items():
        response = actions.client.post(path, data=data)
        assert response.status_code == 400, path
    db.session.expire_all()
    assert an.active and an.organisation == "youth_union" and an.user_id is not None
    assert [m.id for m in mentorships(an.id)] == [mentorship.id]
    assert db.session.scalar(select(Mentor).where(Mentor.person_id == person.id)) is None


# --- the queries added for these pages -----------------------------------------------------------


def test_mentor_logins_are_the_communes_active_mentor_accounts(mw):
    commune_id = mw.v1.commune_id
    names = [u.username for u in queries.mentor_logins(commune_id)]
    assert names == ["mentor", "mentor2"]
    assert all(u.role == Role.MENTOR for u in queries.mentor_logins(commune_id))


def test_mentorships_of_mentor_are_scoped_to_the_users_village(mw):
    an = mw.mentors["an"]
    far = mw.villager("Thôn Hai Người", village=mw.v2)
    near = mw.villager("Thôn Một Người")
    give(mw, an, far, near)
    organiser = queries.mentorships_of_mentor(mw.users["organiser"], an)
    lead = queries.mentorships_of_mentor(mw.users["lead"], an)
    assert {m.person_id for m in organiser} == {far.id, near.id}
    assert [m.person_id for m in lead] == [near.id]
    found = queries.active_mentorships_of([far.id, near.id, an.person_id])
    assert set(found) == {far.id, near.id} and found[far.id].mentor.person.full_name
