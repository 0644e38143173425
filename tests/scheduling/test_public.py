"""The public schedule, its printed notice and the calendar feeds: right events, Vietnam
time, cancellations, and no personal data."""

from datetime import UTC, time
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from tests.factories import (
    NOW,
    make_class,
    make_commune,
    make_course,
    make_person,
    make_session,
    make_user,
)
from tests.scheduling.sessions_world import _frozen, build_plan, local8, utc  # noqa: F401
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.people.models import Village
from webapp.permissions import Role
from webapp.scheduling import services
from webapp.scheduling.models import CourseClass, Enrolment, SignupRequest, Venue

LEARNERS = [("Nguyễn Thị Hồng Nhung", "0912345678"), ("Đặng Văn Ướt", "0987654321")]


@pytest.fixture
def schedule(app, world, frozen):
    """Upcoming sessions in Thôn 1 and Thôn 2 (one cancelled), enrolled learners with phones,
    and a sign-up request with a phone number."""
    with app.app_context():
        plan = build_plan(world)
        first = db.session.get(CourseClass, plan.class_id)
        second = db.session.get(CourseClass, plan.class2_id)
        hall = db.session.get(Venue, plan.venue_id)
        ids = {
            "t1": make_session(first, local8(2025, 12, 1), venue=hall, topic="Gọi video").id,
            "t1_later": make_session(first, local8(2026, 1, 5), venue=hall).id,
            "t2": make_session(second, utc(2025, 12, 2, 7)).id,  # 14:00 local
            "past": make_session(first, local8(2025, 11, 20), venue=hall).id,
        }
        cancelled = make_session(second, local8(2025, 12, 3))
        services.cancel_session(
            actor=db.session.get(User, plan.trainer2_id),
            now=NOW,
            session=cancelled,
            reason="Giảng viên Trần ốm",
        )
        ids["cancelled"] = cancelled.id
        village = db.session.get(Village, world.village_ids[0])
        for name, phone in LEARNERS:
            person = make_person(village, name, phone=phone)
            db.session.add(
                Enrolment(class_id=first.id, person_id=person.id, status="enrolled", since=NOW)
            )
        db.session.add(
            SignupRequest(
                class_id=second.id,
                full_name="Hồ Thị Kim",
                birth_year=1950,
                village_id=world.village_ids[1],
                phone="0901112223",
                created_at=NOW,
            )
        )
        db.session.commit()
        return plan, ids, first.public_token


def events(data: bytes) -> dict[str, dict]:
    calendar = Calendar.from_ical(data)
    found = {}
    for event in calendar.walk("VEVENT"):
        found[str(event["uid"])] = event
    return found


def uid(session_id: int) -> str:
    return f"session-{session_id}@127.0.0.1"


def test_public_schedule_groups_by_village_and_shows_no_personal_data(client, schedule, world):
    response = client.get("/lich?commune=NGOKBAY")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.index('<h2 id="group-1">Thôn 1') < html.index('<h2 id="group-2">Thôn 2')
    assert "Kỹ năng số cho người cao tuổi" in html and "Nhà văn hóa Thôn 1" in html
    assert "01/12/2025" in html and "08:00–10:00" in html and "14:00–16:00" in html
    assert "Gọi video" in html and "tag-cancelled" in html
    assert "20/11/2025" not in html  # past sessions are not listed
    for name, phone in [*LEARNERS, ("Hồ Thị Kim", "0901112223")]:
        assert name not in html and phone not in html
    assert "Trainer2" not in html and "Giảng viên Trần ốm" not in html  # no trainer, no reason


def test_village_filter_and_the_village_feed_link(client, schedule, world, app):
    plan, _, _ = schedule
    with app.app_context():
        db.session.get(CourseClass, plan.class2_id).public_signup = True
        token = db.session.get(CourseClass, plan.class2_id).public_token
        db.session.commit()
    html = client.get(f"/lich?village={world.village_ids[1]}").get_data(as_text=True)
    assert "14:00–16:00" in html and "01/12/2025" not in html
    assert f"/lich/{world.village_ids[1]}.ics" in html
    assert f'href="/lop/{token}"' in html  # the class takes sign-ups on its public page
    other = client.get(f"/lich?village={world.village_ids[0]}").get_data(as_text=True)
    assert "/lop/" not in other  # Thôn 1's class has no public page: its token stays hidden


def test_which_commune(client, app, schedule, world):
    chooser = client.get("/lich").get_data(as_text=True)  # two communes: choose one
    assert "/lich?commune=NGOKBAY" in chooser and "/lich?commune=KHAC" in chooser
    assert client.get("/lich?commune=nope").status_code == 404
    assert client.get("/lich?village=9999").status_code == 404
    assert client.get(f"/lich?commune=KHAC&village={world.village_ids[0]}").status_code == 404
    assert "Xã Khác" in client.get("/lich?commune=khac").get_data(as_text=True)
    assert client.get("/lich/in").status_code == 404


def test_one_commune_deployment_needs_no_choice(client, app, frozen):
    with app.app_context():
        commune = make_commune("MOTXA", "Một Xã", ("Thôn Duy Nhất",))
        organiser = make_user("motxa.canbo", Role.ORGANISER, commune)
        course_class = make_class(
            make_course(commune.id, organiser.id),
            [],
            name="Lớp A",
            village_id=commune.villages[0].id,
        )
        make_session(course_class, local8(2025, 12, 1))
        db.session.commit()
    html = client.get("/lich").get_data(as_text=True)
    assert "Thôn Duy Nhất" in html and "01/12/2025" in html
    assert 'name="commune"' not in html


def test_printed_notice(client, schedule, world):
    response = client.get(f"/lich/in?village={world.village_ids[0]}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "UBND xã Ngọk Bay" in html and "Thôn 1" in html
    assert '<img src="data:image/svg+xml;base64,' in html
    assert f"http://127.0.0.1:5000/lich?village={world.village_ids[0]}" in html
    assert "01/12/2025" in html and "05/01/2026" not in html  # the coming month only
    for name, phone in LEARNERS:
        assert name not in html and phone not in html


def test_village_feed_parses_back_with_vietnam_time(client, schedule, world):
    _, ids, _ = schedule
    response = client.get(f"/lich/{world.village_ids[0]}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    found = events(response.data)
    assert set(found) == {uid(ids["t1"]), uid(ids["t1_later"]), uid(ids["past"])}
    start = found[uid(ids["t1"])].decoded("dtstart")
    assert start.tzinfo == ZoneInfo("Asia/Ho_Chi_Minh") and start.time() == time(8)
    assert start.astimezone(UTC) == utc(2025, 12, 1, 1)
    assert found[uid(ids["t1"])]["status"] == "CONFIRMED"
    assert "DTSTART;TZID=Asia/Ho_Chi_Minh:20251201T080000" in response.get_data(as_text=True)
    calendar = Calendar.from_ical(response.data)
    [timezone] = calendar.walk("VTIMEZONE")
    assert timezone["tzid"] == "Asia/Ho_Chi_Minh"
    text = response.get_data(as_text=True)
    for name, phone in LEARNERS:
        assert name not in text and phone not in text


def test_class_feed_by_its_public_token_marks_cancelled_sessions(client, schedule, app):
    plan, ids, _ = schedule
    with app.app_context():
        token = db.session.get(CourseClass, plan.class2_id).public_token
    response = client.get(f"/lop/{token}.ics")
    found = events(response.data)
    assert set(found) == {uid(ids["t2"]), uid(ids["cancelled"])}
    assert found[uid(ids["cancelled"])]["status"] == "CANCELLED"
    assert found[uid(ids["t2"])].decoded("dtstart").astimezone(UTC) == utc(2025, 12, 2, 7)
    assert "Giảng viên Trần ốm" not in response.get_data(as_text=True)  # public: no reason
    assert client.get("/lop/not-a-token.ics").status_code == 404
    assert client.get(f"/lich/{9999}.ics").status_code == 404


def test_uids_are_stable_between_downloads(client, schedule, world):
    first = client.get(f"/lich/{world.village_ids[1]}.ics").data
    second = client.get(f"/lich/{world.village_ids[1]}.ics").data
    assert set(events(first)) == set(events(second)) and first == second


def test_trainer_feed_has_their_sessions_with_links_and_reasons(client, schedule, app, world):
    plan, ids, _ = schedule
    with app.app_context():
        trainer2 = db.session.get(User, plan.trainer2_id)
        token = services.calendar_token(actor=trainer2, now=NOW)
        db.session.commit()
    response = client.get(f"/calendar/{token}.ics")
    found = events(response.data)
    assert set(found) == {uid(ids["t2"]), uid(ids["cancelled"])}
    cancelled = found[uid(ids["cancelled"])]
    assert cancelled["status"] == "CANCELLED" and "Giảng viên Trần ốm" in cancelled["description"]
    assert str(found[uid(ids["t2"])]["url"]).endswith(f"/sessions/{ids['t2']}")
    assert client.get("/calendar/" + "x" * 43 + ".ics").status_code == 404
    with app.app_context():
        db.session.execute(select(User).where(User.id == plan.trainer2_id)).scalar().active = False
        db.session.commit()
    assert client.get(f"/calendar/{token}.ics").status_code == 404  # a closed account's link


@pytest.mark.parametrize(
    "path",
    [
        "/lich?village=99999999999999999999",
        "/lich?village=2147483648",
        "/lich/in?village=99999999999999999999",
        "/lich/99999999999999999999.ics",
        "/lich/2147483648.ics",
    ],
)
def test_numbers_no_village_can_have_are_not_found(client, schedule, path):
    assert client.get(path).status_code == 404


def test_a_village_number_that_is_not_a_number_is_ignored(client, schedule):
    assert client.get("/lich?commune=NGOKBAY&village=abc").status_code == 200
