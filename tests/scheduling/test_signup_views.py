"""The public class page: no personal data, sign-up without an account, CSRF, Vietnamese
messages, throttling per address."""

import unicodedata
from datetime import timedelta

import pytest

from tests.conftest import CSRF_RE
from tests.factories import NOW, make_class, make_course, make_person, make_session
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.people.models import Village
from webapp.scheduling import enrolment as rules
from webapp.scheduling.models import ClassStatus, CourseClass, SignupRequest, Venue
from webapp.timeutil import format_date, utcnow


@pytest.fixture
def public_class(app, world):
    """An open class with its public page on, two learners, a trainer with a phone-like
    name, assistants, a venue and an upcoming session (and a cancelled one)."""
    with app.app_context():
        trainer = db.session.get(User, world.users["trainer"])
        trainer.full_name = "Cô Giáo Hoa 0912345678"
        v1 = db.session.get(Village, world.village_ids[0])
        course = make_course(world.commune_id, trainer.id, title="Dùng Zalo an toàn")
        course.summary = "Nhắn tin, gọi video và tránh lừa đảo"
        course_class = make_class(
            course,
            [trainer],
            name="Lớp Zalo Thôn 1",
            capacity=3,
            village_id=v1.id,
            public_signup=True,
        )
        course_class.assistants = "Đoàn viên Võ Minh Trí"
        course_class.accommodations = ["large_print", "sign_language"]
        venue = Venue(
            commune_id=world.commune_id,
            village_id=v1.id,
            name="Nhà văn hóa Thôn 1",
            address="Cạnh trường tiểu học",
            capacity=40,
            accessibility=["step_free"],
            equipment=[],
        )
        db.session.add(venue)
        start = utcnow().replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=3)
        make_session(course_class, start, venue=venue, topic="Cài Zalo")
        cancelled = make_session(course_class, start + timedelta(days=2), venue=venue)
        cancelled.cancelled_at, cancelled.cancel_reason = NOW, "Cô Hoa ốm, gọi 0912345678"
        for name in ("Nguyễn Thị Học Viên", "Trần Văn Kín Tên"):
            rules.enrol(
                actor=trainer,
                now=NOW,
                course_class=course_class,
                person=make_person(v1, name, 1950, phone="0987654321"),
            )
        db.session.commit()
        return {"token": course_class.public_token, "id": course_class.id, "start": start}


def path(public_class):
    return f"/lop/{public_class['token']}"


def form(world, **changes):
    data = {
        "full_name": "Hồ Thị Mai",
        "birth_year": "1957",
        "village_id": str(world.village_ids[0]),
        "phone": "0905 222 333",
        "consent": "y",
    }
    return data | changes


def test_public_page_shows_the_class_and_no_personal_data(client, public_class):
    response = client.get(path(public_class))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in (
        "Dùng Zalo an toàn",
        "Nhắn tin, gọi video và tránh lừa đảo",
        "Thôn 1",
        "Nhà văn hóa Thôn 1",
        "Cạnh trường tiểu học",
        "Chữ in lớn",
        "Phiên dịch ngôn ngữ ký hiệu",
        "Lối đi không bậc thềm",
        format_date(public_class["start"]),
        "08:00–10:00",
    ):
        assert text in html, text
    for secret in (
        "Nguyễn Thị Học Viên",
        "Trần Văn Kín Tên",
        "0987654321",
        "Cô Giáo Hoa",
        "0912345678",
        "Võ Minh Trí",
        "ốm",
    ):
        assert secret not in html, secret
    assert 'name="full_name"' in html and 'name="csrf_token"' in html


def test_no_public_page_unless_the_class_has_it_on(client, public_class, app):
    with app.app_context():
        db.session.get(CourseClass, public_class["id"]).public_signup = False
        db.session.commit()
    assert client.get(path(public_class)).status_code == 404
    assert client.get("/lop/not-a-token").status_code == 404


def test_sign_up_without_an_account(client, public_class, app, world):
    page = client.get(path(public_class)).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    name_nfd = unicodedata.normalize("NFD", "Hồ  Thị Mai")  # some keyboards send NFD
    response = client.post(
        path(public_class), data=form(world, full_name=name_nfd) | {"csrf_token": token}
    )
    assert response.status_code == 302
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Cảm ơn bạn, đăng ký đã được gửi" in thanks
    assert 'name="full_name"' not in thanks
    again = client.get(path(public_class)).get_data(as_text=True)
    assert 'name="full_name"' in again  # the thank-you page is shown once
    with app.app_context():
        signup = db.session.scalar(db.select(SignupRequest))
        assert signup.full_name == "Hồ Thị Mai" and signup.birth_year == 1957
        assert signup.phone == "0905222333" and signup.status == "pending"
        assert signup.village_id == world.village_ids[0]


def test_the_form_is_protected_against_cross_site_posts(client, public_class, app, world):
    response = client.post(path(public_class), data=form(world))
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(SignupRequest)) == 0


def test_mistakes_are_explained_in_vietnamese(client, public_class, app, world):
    page = client.get(path(public_class)).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    response = client.post(
        path(public_class),
        data=form(world, full_name="", birth_year="1850", village_id="0", phone="12")
        | {"csrf_token": token},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'lang="vi"' in html and 'class="error-summary"' in html
    assert "Hãy nhập họ và tên." in html
    assert "Hãy nhập năm, ví dụ 1958." in html
    assert "Hãy chọn thôn của bạn." in html
    assert "Số điện thoại phải có 10 chữ số." in html
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(SignupRequest)) == 0


def test_consent_is_required(client, public_class, app, world):
    token = CSRF_RE.search(client.get(path(public_class)).get_data(as_text=True)).group(1)
    data = form(world) | {"csrf_token": token}
    del data["consent"]
    response = client.post(path(public_class), data=data)
    assert response.status_code == 422
    assert 'href="#consent"' in response.get_data(as_text=True)


def test_abusive_submits_are_throttled_per_address(client, public_class, app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SIGNUP_MAX_PER_ADDRESS", 2)
    token = CSRF_RE.search(client.get(path(public_class)).get_data(as_text=True)).group(1)
    for i in range(2):
        data = form(world, full_name=f"Người Thử {i}") | {"csrf_token": token}
        assert client.post(path(public_class), data=data).status_code == 302
    data = form(world, full_name="Người Thử 3") | {"csrf_token": token}
    response = client.post(path(public_class), data=data)
    assert response.status_code == 429
    assert "Quá nhiều lần thử" in response.get_data(as_text=True)
    other = app.test_client()  # another address is not affected
    token = CSRF_RE.search(other.get(path(public_class)).get_data(as_text=True)).group(1)
    response = other.post(
        path(public_class),
        data=data | {"csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(SignupRequest)) == 3


@pytest.mark.parametrize("status", [ClassStatus.FINISHED, ClassStatus.CANCELLED])
def test_no_form_once_the_class_is_over(client, public_class, app, world, status):
    with app.app_context():
        db.session.get(CourseClass, public_class["id"]).status = status
        db.session.commit()
    response = client.get(path(public_class))
    assert response.status_code == 200
    assert 'name="full_name"' not in response.get_data(as_text=True)
    token = CSRF_RE.search(response.get_data(as_text=True)).group(1)
    assert (
        client.post(path(public_class), data=form(world) | {"csrf_token": token}).status_code == 404
    )


def test_class_page_and_its_calendar_feed_do_not_collide(app, public_class):
    urls = app.url_map.bind("localhost")
    assert urls.match(path(public_class))[0] == "signup.class_page"
    assert urls.match(path(public_class) + ".ics")[0] != "signup.class_page"


def test_full_class_says_people_will_wait(client, public_class, app):
    with app.app_context():
        course_class = db.session.get(CourseClass, public_class["id"])
        course_class.capacity = 2
        db.session.commit()
    client.set_cookie("lang", "en")
    html = client.get(path(public_class)).get_data(as_text=True)
    assert "The class is full: you will be put on the waiting list." in html
    assert "seats are still free" not in html
