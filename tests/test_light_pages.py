"""Every page a learner or the public opens (/c, /p, /v, /hoc, /lich, /lop) uses the light
layout: one small stylesheet, no script, at most 30 KB of HTML and CSS together. And the app
compresses the text it serves, and serves static files under hashed names, cached for a year.

The pages are walked with realistic data: a village with five sessions in two classes, a class
open for sign-up, a session open for check-in, a learner card, a valid and an unknown
certificate code, and the quizzes of a learner whose phone is remembered.
"""

import gzip
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.checkin.checkin_world import build as build_checkin
from tests.factories import NOW, make_class, make_course, make_session
from webapp import assets
from webapp.accounts.models import User
from webapp.certificates.models import Certificate
from webapp.extensions import db
from webapp.learning.framework import seed_framework
from webapp.people.models import Person, Village
from webapp.scheduling.models import Venue
from webapp.timeutil import utcnow

LIMIT = 30 * 1024
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
QUIZ = "4.2"

#: The five sessions of Thôn 2 in the coming month: (days ahead, class, topic).
TOPICS = [
    (2, 0, "Cài đặt và kích hoạt tài khoản định danh điện tử VNeID mức 2"),
    (6, 1, "Nộp hồ sơ trên Cổng dịch vụ công quốc gia"),
    (9, 0, "Gọi video cho con cháu ở xa qua Zalo"),
    (13, 1, "Thanh toán tiền điện, tiền nước bằng mã QR"),
    (16, 0, "Nhận biết tin nhắn lừa đảo và bảo vệ tài khoản ngân hàng"),
]


@dataclass
class LightWorld:
    """What the light pages are opened with."""

    village_id: int  # Thôn 2: five sessions in the coming month
    class_token: str  # the public page of a class open for sign-up
    checkin_token: str  # a session open for check-in now
    checkin_code: str
    card_code: str  # a learner's card
    verify_code: str  # a valid certificate
    nhung: int  # a learner enrolled in the session open for check-in
    outsider: int  # a villager not enrolled in it


def build_light_world(world) -> LightWorld:
    """Call inside an app context, after ``build_world``."""
    cw = build_checkin(world)
    seed_framework(NOW)
    trainer = db.session.get(User, world.users["trainer"])
    village = db.session.get(Village, world.village_ids[1])
    venue = Venue(
        commune_id=world.commune_id,
        village_id=village.id,
        name="Nhà văn hóa Thôn 2",
        address="Đường liên thôn, gần trường tiểu học Ngọk Bay",
        capacity=40,
        accessibility=["step_free"],
        equipment=["wifi", "projector"],
    )
    db.session.add(venue)
    older = make_course(world.commune_id, trainer.id)
    older.summary = (
        "Dùng điện thoại thông minh an toàn: định danh điện tử, gọi video, "
        "nhận biết lừa đảo trực tuyến."
    )
    public_services = make_course(
        world.commune_id, trainer.id, title="Dịch vụ công trực tuyến cho người dân"
    )
    classes = [
        make_class(
            older,
            [trainer],
            name="Lớp người cao tuổi Thôn 2",
            capacity=25,
            village_id=village.id,
            public_signup=True,
        ),
        make_class(public_services, [trainer], name="Lớp thanh niên Thôn 2", village_id=village.id),
    ]
    start = utcnow().replace(hour=1, minute=0, second=0, microsecond=0)  # 08:00 in Vietnam
    for days, which, topic in TOPICS:
        make_session(classes[which], start + timedelta(days=days), venue=venue, topic=topic)
    nhung = db.session.get(Person, cw.learners["Nguyễn Thị Hồng Nhung"])
    certificate = Certificate(
        serial="NGOKBAY-2025-0001",
        verify_code=secrets.token_urlsafe(12),
        commune_id=world.commune_id,
        person_id=nhung.id,
        class_id=cw.class_id,
        snapshot={
            "full_name": nhung.full_name,
            "birth_year": nhung.birth_year,
            "course": older.title,
            "class_name": "Lớp cao tuổi Thôn 1",
            "committee": "UBND xã Ngọk Bay",
            "serial": "NGOKBAY-2025-0001",
            "competencies": [],
            "hours": 8.0,
        },
        issued_by_id=world.users["organiser"],
        issued_at=NOW,
        revoke_reason="",
    )
    db.session.add(certificate)
    db.session.commit()
    return LightWorld(
        village_id=village.id,
        class_token=classes[0].public_token,
        checkin_token=cw.token,
        checkin_code=cw.code,
        card_code=nhung.learner_code,
        verify_code=certificate.verify_code,
        nhung=nhung.id,
        outsider=cw.outsider_id,
    )


def page_urls(lw: LightWorld) -> dict[str, str]:
    """The pages anyone reaches with a GET (no cookie needed), by name."""
    return {
        "check-in code": "/c",
        "check-in code unknown": "/c?code=QQQQQQ",
        "check-in first visit": f"/c/{lw.checkin_token}",
        "check-in unknown point": "/c/no-such-point",
        "card": f"/p/{lw.card_code}",
        "certificate valid": f"/v/{lw.verify_code}",
        "certificate unknown": "/v/not-a-real-code",
        "quizzes on a new phone": "/hoc",
        "quiz of a stranger": f"/hoc/quiz/{QUIZ}?person={lw.outsider}",
        "schedule: choose a commune": "/lich",
        "schedule of the commune": "/lich?commune=NGOKBAY",
        "schedule of the village": f"/lich?village={lw.village_id}",
        "notice of the village": f"/lich/in?village={lw.village_id}",
        "notice of the commune": "/lich/in?commune=NGOKBAY",
        "class page": f"/lop/{lw.class_token}",
        "class page unknown": "/lop/no-such-class",
    }


@pytest.fixture
def lw(app, world) -> LightWorld:
    with app.app_context():
        return build_light_world(world)


def _csrf(client, url: str) -> str:
    return CSRF.search(client.get(url).get_data(as_text=True)).group(1)


def _post(client, url: str, **data):
    return client.post(url, data={"csrf_token": _csrf(client, url), **data})


def walk(app, client, lw: LightWorld) -> dict:
    """Every light page, by name: its response (the client follows a learner through
    check-in, a quiz and a sign-up, so the pages behind a POST are there too)."""
    pages = {name: client.get(url) for name, url in page_urls(lw).items()}
    scan = f"/c/{lw.checkin_token}"
    pages["check-in wrong details"] = _post(
        client, scan, action="identify", phone="0900000000", birth_year="1958"
    )
    done = _post(client, scan, action="identify", phone="0905123456", birth_year="1958")
    pages["checked in"] = client.get(done.headers["Location"])
    pages["check-in known phone"] = client.get(scan)
    pages["check-in someone else"] = client.get(f"{scan}?other=1")
    pages["quizzes"] = client.get("/hoc")
    start = f"/hoc/quiz/{QUIZ}?person={lw.nhung}"
    pages["quiz start"] = client.get(start)
    question = _post(client, start)
    pages["quiz question"] = client.get(question.headers["Location"])
    while True:
        page = client.get(question.headers["Location"])
        if "/result" in question.headers["Location"]:
            pages["quiz result"] = page
            break
        csrf = CSRF.search(page.get_data(as_text=True)).group(1)
        position = re.search(r'name="position" value="(\d+)"', page.get_data(as_text=True))[1]
        question = client.post(
            question.headers["Location"],
            data={"csrf_token": csrf, "position": position, "choice": "0"},
        )
    stranger = app.test_client()
    _post(stranger, scan, action="identify", phone="0911222333", birth_year="1970")
    asked = _post(stranger, scan, action="ask", phone="0911222333", birth_year="1970")
    pages["asked to join"] = stranger.get(asked.headers["Location"])
    signup = f"/lop/{lw.class_token}"
    pages["sign-up with mistakes"] = _post(client, signup, full_name="", birth_year="19")
    sent = _post(
        client,
        signup,
        full_name="Phạm Thị Lan",
        birth_year="1961",
        village_id=str(lw.village_id),
        phone="0912 345 678",
        consent="y",
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)[:500]
    pages["sign-up sent"] = client.get(signup)
    app.config["CERTIFICATE_VERIFY_MAX_PER_ADDRESS"] = 0
    try:
        pages["certificate too many tries"] = client.get(f"/v/{lw.verify_code}")
    finally:
        app.config["CERTIFICATE_VERIFY_MAX_PER_ADDRESS"] = 60
    return pages


EXPECTED_STATUS = {
    "check-in code unknown": 404,
    "check-in unknown point": 404,
    "check-in wrong details": 400,
    "certificate unknown": 404,
    "quiz of a stranger": 403,
    "class page unknown": 404,
    "sign-up with mistakes": 422,
    "certificate too many tries": 429,
}


def weight(client, html: str) -> tuple[int, list[str]]:
    """Bytes of the page's HTML and of every stylesheet it links; the stylesheets."""
    sheets = STYLESHEET.findall(html)
    total = len(html.encode())
    for href in sheets:
        with client.get(href) as response:
            assert response.status_code == 200, href
            total += len(response.data)
    return total, sheets


def test_every_learner_and_public_page_is_light(app, client, lw):
    pages = walk(app, client, lw)
    assert len(pages) == 28
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert response.status_code == EXPECTED_STATUS.get(name, 200), (name, html[:300])
        total, sheets = weight(app.test_client(), html)
        assert sheets and sheets[0].endswith("/css/learner.css"), (name, sheets)
        assert not any(s.endswith("/app.css") for s in sheets), (name, sheets)
        assert "<script" not in html and "htmx" not in html, name
        assert total <= LIMIT, (name, total)


def test_the_class_page_links_its_calendar_and_the_village_schedule_its_own(client, lw):
    html = client.get(f"/lop/{lw.class_token}").get_data(as_text=True)
    feed = re.search(r'href="([^"]*/lop/[^"]+\.ics)"', html)
    assert feed, "no link to the class calendar"
    calendar = client.get(feed[1])
    assert calendar.status_code == 200 and b"BEGIN:VCALENDAR" in calendar.data
    html = client.get(f"/lich?village={lw.village_id}").get_data(as_text=True)
    assert f'href="/lich/{lw.village_id}.ics"' in html


def test_pages_are_sent_compressed_to_browsers_that_accept_it(client, lw):
    url = f"/lich/in?village={lw.village_id}"  # the largest page (its QR code inside)
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers  # a client that does not ask: plain text
    packed = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"] and "Cookie" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 2
    br = client.get(url, headers={"Accept-Encoding": "br, gzip"})
    assert br.headers["Content-Encoding"] == "br"


def test_static_files_have_hashed_names_and_are_kept_for_a_year(app, client, lw):
    html = client.get("/lich").get_data(as_text=True)
    [href] = STYLESHEET.findall(html)
    assert re.fullmatch(r"/static/[0-9a-f]{12}/css/learner\.css", href), href
    with client.get(href) as hashed:
        assert hashed.status_code == 200 and b"font" in hashed.data
        cache = hashed.headers["Cache-Control"]
        assert "max-age=31536000" in cache and "immutable" in cache and "public" in cache
    with client.get("/static/css/learner.css") as unhashed:
        assert unhashed.status_code == 200 and unhashed.data == hashed.data
        assert unhashed.headers["Cache-Control"] == "no-cache"  # a fixed name: check each time
    stale = href.replace(href.split("/")[2], "0" * 12)
    with client.get(stale) as old:  # an older page's address: today's file, not kept long
        assert old.status_code == 200 and old.headers["Cache-Control"] == "no-cache"
    assert client.get("/static/0123456789ab/css/none.css").status_code == 404
    for outside in ("../webapp/config.py", "../../../../etc/hostname", "/etc/hostname"):
        assert client.get(f"/static/0123456789ab/{outside}").status_code == 404, outside
        # ... and nothing outside static/ is even read (think of /dev/zero)
        assert assets.digest(app.static_folder, outside) is None, outside


def test_static_compressed_with_brotli(client):
    with client.get("/static/css/learner.css", headers={"Accept-Encoding": "br"}) as response:
        assert response.headers["Content-Encoding"] == "br"


def test_favicon(client):
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200 and icon.mimetype in (
            "image/vnd.microsoft.icon",
            "image/x-icon",
        )
        assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    for url in ("/lich", "/auth/login"):  # the light layout and the staff layout
        html = client.get(url).get_data(as_text=True)
        assert '<link rel="icon" href="/favicon.ico" sizes="16x16 32x32 48x48">' in html, url
