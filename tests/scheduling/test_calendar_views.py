"""The trainer's day, the personal calendar link, and the organisers' week and month."""

import re

import pytest
from sqlalchemy import select

from tests.factories import make_class, make_person, make_session
from tests.scheduling.sessions_world import _frozen, build_plan, local8, utc  # noqa: F401
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.people.models import Village
from webapp.scheduling import services
from webapp.scheduling.models import Course, CourseClass, Enrolment, Venue

# NOW is Tuesday 25/11/2025 10:00 in Vietnam; that week runs Monday 24 to Sunday 30.


@pytest.fixture
def week(app, world, frozen):
    """Sessions around NOW's week, for both classes, and one in another commune."""
    with app.app_context():
        plan = build_plan(world)
        first = db.session.get(CourseClass, plan.class_id)
        second = db.session.get(CourseClass, plan.class2_id)
        hall = db.session.get(Venue, plan.venue_id)
        ids = {
            "today": make_session(first, local8(2025, 11, 25), venue=hall, topic="Zalo").id,
            "thursday": make_session(first, local8(2025, 11, 27), venue=hall).id,
            "next_week": make_session(first, local8(2025, 12, 2), venue=hall).id,
            "last_week": make_session(first, local8(2025, 11, 18), venue=hall).id,
            # Thursday, 09:00, same hall: clashes with "thursday"
            "clash": make_session(second, utc(2025, 11, 27, 2), venue=hall).id,
            "second_friday": make_session(second, local8(2025, 11, 28)).id,
        }
        cancelled = make_session(second, local8(2025, 11, 29), venue=hall)
        services.cancel_session(
            actor=db.session.get(User, world.users["organiser"]),
            now=frozen,
            session=cancelled,
            reason="Bão",
        )
        ids["cancelled"] = cancelled.id
        other_course = Course(
            commune_id=world.other_commune_id,
            title="Khóa xã khác",
            created_by_id=world.users["other_organiser"],
            created_at=frozen,
        )
        db.session.add(other_course)
        elsewhere = make_class(other_course, [], name="Lớp xã khác")
        ids["elsewhere"] = make_session(elsewhere, local8(2025, 11, 26)).id
        village = db.session.get(Village, world.village_ids[0])
        for name in ("Lê Thị Mai", "Phạm Văn Tư", "Võ Thị Sáu"):
            db.session.add(
                Enrolment(
                    class_id=first.id,
                    person_id=make_person(village, name).id,
                    status="enrolled",
                    since=frozen,
                )
            )
        db.session.commit()
        return plan, ids


def links(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/sessions/(\d+)"', html)}


def test_trainers_day_lists_today_and_the_rest_of_the_week(actions, week):
    _, ids = week
    actions.login("trainer")
    html = actions.client.get("/today").get_data(as_text=True)
    assert links(html) == {ids["today"], ids["thursday"]}
    assert html.index(f'/sessions/{ids["today"]}"') < html.index(f'/sessions/{ids["thursday"]}"')
    assert html.count("Mở buổi học") == 2  # Open the live session
    assert "3 học viên đã ghi danh" in html and "Zalo" in html


def test_another_trainer_sees_only_their_own_sessions(actions, week):
    _, ids = week
    actions.login("trainer2")
    html = actions.client.get("/today").get_data(as_text=True)
    assert links(html) == {ids["clash"], ids["second_friday"], ids["cancelled"]}
    assert "tag-cancelled" in html and "Bão" in html


def test_an_organiser_sees_the_classes_they_created(actions, week, app, world):
    plan, ids = week
    with app.app_context():
        db.session.get(CourseClass, plan.class2_id).created_by_id = world.users["organiser"]
        db.session.commit()
    actions.login("organiser")
    html = actions.client.get("/today").get_data(as_text=True)
    assert links(html) == {ids["clash"], ids["second_friday"], ids["cancelled"]}


def test_subscribe_makes_a_personal_calendar_link_and_a_new_one_stops_the_old(actions, week, app):
    actions.login("trainer")
    assert "/calendar/" not in actions.client.get("/today").get_data(as_text=True)
    response = actions.post("/today/subscribe", token_from="/today")
    assert response.status_code == 302 and response.headers["Location"].endswith("/today#subscribe")
    html = actions.client.get("/today").get_data(as_text=True)
    [old] = set(re.findall(r"/calendar/([\w-]{43})\.ics", html))  # https:// and webcal://
    assert "webcal://" in html
    actions.logout()
    feed = actions.client.get(f"/calendar/{old}.ics")
    assert feed.status_code == 200 and feed.headers["Content-Type"].startswith("text/calendar")
    actions.login("trainer")
    actions.post("/today/subscribe", {"renew": "1"}, token_from="/today")
    with app.app_context():
        new = db.session.scalar(select(User.calendar_token).where(User.username == "trainer"))
    assert new != old
    assert actions.client.get(f"/calendar/{old}.ics").status_code == 404
    assert actions.client.get(f"/calendar/{new}.ics").status_code == 200


def test_week_shows_every_session_of_the_commune_with_clashes_marked(actions, week):
    _, ids = week
    actions.login("organiser")
    response = actions.client.get("/calendar?week=2025-11-26")  # any day of the week
    html = response.get_data(as_text=True)
    assert links(html) == {
        ids[k] for k in ("today", "thursday", "clash", "second_friday", "cancelled")
    }
    clashing = re.findall(r'class="cal-session is-clash">\s*<a href="/sessions/(\d+)"', html)
    assert {int(n) for n in clashing} == {ids["thursday"], ids["clash"]}
    assert "5 buổi học · " in html and "2 buổi bị trùng lịch" in html
    assert "24/11/2025" in html and "30/11/2025" in html
    assert "week=2025-11-17" in html and "week=2025-12-01" in html  # previous / next
    assert "is-cancelled" in html


def test_week_filters_keep_clashes_with_hidden_sessions_visible(actions, week, world):
    _, ids = week
    actions.login("organiser")
    by_village = actions.client.get(f"/calendar?week=2025-11-24&village={world.village_ids[1]}")
    html = by_village.get_data(as_text=True)
    assert links(html) == {ids["clash"], ids["second_friday"], ids["cancelled"]}
    assert re.search(rf'is-clash">\s*<a href="/sessions/{ids["clash"]}"', html)
    assert f"village={world.village_ids[1]}" in html  # kept in the previous/next links
    by_trainer = actions.client.get(f"/calendar?week=2025-11-24&trainer={world.users['trainer']}")
    assert links(by_trainer.get_data(as_text=True)) == {ids["today"], ids["thursday"]}
    by_segment = actions.client.get("/calendar?week=2025-11-24&audience=segment:trader_farmer")
    assert links(by_segment.get_data(as_text=True)) == {
        ids["clash"],
        ids["second_friday"],
        ids["cancelled"],
    }
    by_group = actions.client.get("/calendar?week=2025-11-24&audience=group:citizen")
    assert links(by_group.get_data(as_text=True)) == {ids["today"], ids["thursday"]}
    nonsense = actions.client.get("/calendar?week=yesterday&village=abc&audience=x:y")
    assert nonsense.status_code == 200  # ignored: this week, no filter
    assert len(links(nonsense.get_data(as_text=True))) == 5


def test_htmx_gets_only_the_calendar_fragment(actions, week):
    actions.login("organiser")
    response = actions.client.get("/calendar?week=2025-12-01", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" not in html and "period-nav" in html and 'form="calendar-filters"' in html
    assert "HX-Request" in response.headers["Vary"]


def test_month_shows_the_sessions_of_the_month(actions, week):
    _, ids = week
    actions.login("trainer")  # trainers may look at the commune's calendar too
    html = actions.client.get("/calendar/month?month=2025-11").get_data(as_text=True)
    assert links(html) == {
        ids[k] for k in ("last_week", "today", "thursday", "clash", "second_friday", "cancelled")
    }
    assert "month=2025-10" in html and "month=2025-12" in html
    december = actions.client.get("/calendar/month?month=2025-12").get_data(as_text=True)
    assert ids["next_week"] in links(december) and ids["today"] not in links(december)


def test_who_may_see_the_calendar(actions, week, client):
    assert client.get("/calendar").status_code == 302  # to the log-in page
    actions.login("mentor")
    assert actions.client.get("/calendar").status_code == 403
    assert actions.client.get("/today").status_code == 403
    actions.logout()
    actions.login("other_organiser")
    html = actions.client.get("/calendar?week=2025-11-24").get_data(as_text=True)
    assert links(html) == {week[1]["elsewhere"]}


@pytest.mark.parametrize(
    "query",
    [
        "/calendar?week=9999-12-31",
        "/calendar?week=0001-01-01",
        "/calendar?week=2101-01-04",
        "/calendar/month?month=9999-12",
        "/calendar/month?month=0001-01",
        "/calendar/month?month=1999-12",
    ],
)
def test_dates_out_of_range_show_this_week_or_month(actions, week, query):
    _, ids = week
    actions.login("organiser")
    response = actions.client.get(query)
    assert response.status_code == 200
    assert ids["today"] in links(response.get_data(as_text=True))  # NOW's week and month


@pytest.mark.parametrize("query", ["/calendar?week=2100-12-31", "/calendar/month?month=2100-12"])
def test_the_last_week_and_month_of_the_range_still_show(actions, week, query):
    actions.login("organiser")
    response = actions.client.get(query)
    assert response.status_code == 200
    assert "31/12/2100" in response.get_data(as_text=True)
