"""The mentoring network attacked as a curious user and an attacker would (issue 15): other
people's meetings and villages (IDOR), markup in names and notes (XSS) and formulas in the
Excel export, posts without a CSRF token, nonsense in the meeting form, forged confirmations
from a phone, learner codes where they do not belong, the same form sent twice. Each test fails
if the hole it looks for is there."""

import io
import re
import zipfile
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.factories import NOW, make_household
from webapp.checkin import learner_views
from webapp.checkin.models import Attendance, Device, OccasionKind
from webapp.checkin.phones import ensure_learner_codes
from webapp.extensions import db
from webapp.learning.framework import seed_framework
from webapp.learning.models import Evidence
from webapp.mentoring import meetings, services
from webapp.mentoring.meetings import MeetingDetails
from webapp.mentoring.models import Meeting, MeetingConfirmation, Mentor, Mentorship
from webapp.timeutil import to_local

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
NONCE = re.compile(r'name="nonce"[^>]*value="([^"]+)"')

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
NOTE = '<b onmouseover="alert(2)">ghi chú</b><svg/onload=alert(3)> hx-get="/x"'
FORMULAS = ('=HYPERLINK("http://evil.example","bấm")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)")


def _csrf(response) -> str:
    return CSRF.search(response.get_data(as_text=True)).group(1)


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(model.id)))


def _written() -> tuple[int, ...]:
    """How many rows each table a mentoring change writes holds, and how many mentors and
    mentorships are active (an end changes no count of rows)."""
    rows = tuple(
        _count(m) for m in (Meeting, Attendance, Evidence, MeetingConfirmation, Mentor, Mentorship)
    )
    active = (
        db.session.scalar(select(func.count(Mentor.id)).where(Mentor.ended_at.is_(None))),
        db.session.scalar(select(func.count(Mentorship.id)).where(Mentorship.ended_at.is_(None))),
        db.session.scalar(select(func.count(Mentor.id)).where(Mentor.user_id.is_not(None))),
    )
    return rows + active


def _log_by_service(mw, mentor, people, *, now=NOW, held=True, codes=("1.1",), note=""):
    meeting = meetings.log_meeting(
        actor=mw.users["organiser"],
        now=now,
        mentor=mentor,
        details=MeetingDetails(
            people=people, minutes=60, place="home", held=held, practised=codes, note=note
        ),
    )
    db.session.commit()
    return meeting


@pytest.fixture
def net(mw, clock):
    """An (log-in "mentor") guides the household T1-050 (Hoa, Lâm) and a mentee whose name is
    a script; Bình guides Khác and has logged a meeting with her; Cường (Thôn 2) guides Tư."""
    seed_framework(NOW)
    clock.set(NOW)
    organiser = mw.users["organiser"]
    an, binh, cuong = mw.mentors["an"], mw.mentors["binh"], mw.mentors["cuong"]
    household = make_household(mw.v1, "T1-050")
    hoa = mw.villager("Nguyễn Thị Hoa", 1950, household=household)
    lam = mw.villager("Nguyễn Văn Lâm", 1948, household=household)
    evil = mw.villager(SCRIPT, 1947)
    services.assign_household(actor=organiser, now=NOW, mentor=an, household=household)
    services.assign(actor=organiser, now=NOW - timedelta(days=20), mentor=an, person=evil)
    khac = mw.villager("Võ Thị Khác", 1944)
    services.assign(actor=organiser, now=NOW, mentor=binh, person=khac)
    tu = mw.villager("Đinh Văn Tư", 1952, mw.v2)
    services.assign(actor=organiser, now=NOW, mentor=cuong, person=tu)
    db.session.commit()
    binh_meeting = _log_by_service(mw, binh, [khac])
    return {
        "hoa": hoa,
        "lam": lam,
        "evil": evil,
        "khac": khac,
        "tu": tu,
        "binh_meeting": binh_meeting,
    }


def _form_data(actions, chosen, **changes):
    form = actions.client.get("/mentor/meeting/new")
    assert form.status_code == 200
    local = to_local(NOW)
    data = {
        "csrf_token": _csrf(form),
        "nonce": NONCE.search(form.get_data(as_text=True)).group(1),
        "people": [p.id for p in chosen],
        "held": "yes",
        "place": "home",
        "day": local.strftime("%d/%m/%Y"),
        "time": local.strftime("%H:%M"),
        "minutes": "60",
        "practised": ["1.1"],
        "note": "",
    }
    data.update(changes)
    return data


def _post_meeting(actions, chosen, **changes):
    return actions.client.post("/mentor/meeting/new", data=_form_data(actions, chosen, **changes))


def _an_meeting(actions, net, **changes):
    response = _post_meeting(actions, [net["hoa"], net["lam"]], **changes)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return db.session.scalar(select(Meeting).order_by(Meeting.id.desc()))


# --- 1. other people's records (IDOR) --------------------------------------------------------


def test_a_mentor_cannot_open_attest_or_record_on_another_mentors_meeting(net, actions):
    actions.login("mentor")
    own = _an_meeting(actions, net)
    token = _csrf(actions.client.get(f"/mentor/meeting/{own.id}"))
    theirs = net["binh_meeting"].id
    khac = net["khac"]
    ensure_learner_codes([khac])
    db.session.commit()
    before = _written()
    assert actions.client.get(f"/mentor/meeting/{theirs}").status_code == 404
    attest = {"csrf_token": token, "can": [f"{khac.id}:1.1"]}
    assert actions.client.post(f"/mentor/meeting/{theirs}/attest", data=attest).status_code == 404
    card = {"csrf_token": token, "code": khac.learner_code}
    assert actions.client.post(f"/mentor/meeting/{theirs}/present", data=card).status_code == 404
    assert _written() == before


def test_a_mentor_cannot_record_a_stranger_by_learner_code_on_their_own_meeting(net, actions):
    actions.login("mentor")
    own = _an_meeting(actions, net)
    ensure_learner_codes([net["khac"]])
    db.session.commit()
    page = actions.client.get(f"/mentor/meeting/{own.id}")
    before = _written()
    refused = actions.client.post(
        f"/mentor/meeting/{own.id}/present",
        data={"csrf_token": _csrf(page), "code": net["khac"].learner_code},
    )
    assert 400 <= refused.status_code < 500
    assert _written() == before


def test_the_lead_of_thon_2_cannot_reach_thon_1(net, mw, actions):
    an = mw.mentors["an"]
    hoa_mentorship = db.session.scalar(
        select(Mentorship).where(Mentorship.person_id == net["hoa"].id, Mentorship.active)
    )
    actions.login("lead2")
    token = actions.csrf_token("/mentoring/mentors")
    before = _written()
    assert actions.client.get(f"/mentoring/mentors/{an.id}").status_code == 404
    assert actions.client.get(f"/mentoring/mentors/{an.id}/edit").status_code == 404
    assert actions.client.get(f"/mentoring/digest?village={mw.v1.id}").status_code == 404
    posts = {
        f"/mentoring/mentorships/{hoa_mentorship.id}/end": {"reason": "finished", "note": ""},
        f"/mentoring/mentorships/{hoa_mentorship.id}/reassign": {
            "new_mentor_id": mw.mentors["cuong"].id
        },
        f"/mentoring/mentors/{an.id}/end": {"note": ""},
        f"/mentoring/mentors/{an.id}/assign": {"person_id": net["tu"].id},
        # A Thôn 1 person given to the Thôn 2 mentor:
        f"/mentoring/mentors/{mw.mentors['cuong'].id}/assign": {"person_id": net["khac"].id},
    }
    for path, data in posts.items():
        response = actions.client.post(path, data={"csrf_token": token, **data})
        assert response.status_code in (403, 404), path
    assert _written() == before
    for path in ("/mentoring", "/mentoring/digest", "/mentoring/mentors"):
        html = actions.client.get(path).get_data(as_text=True)
        assert "Nguyễn Văn An" not in html and "Nguyễn Thị Hoa" not in html, path
    book = openpyxl.load_workbook(io.BytesIO(actions.client.get("/mentoring/export.xlsx").data))
    values = {str(c.value) for s in book for row in s.iter_rows() for c in row}
    assert not {"Nguyễn Văn An", "Nguyễn Thị Hoa", "Võ Thị Khác"} & values


def test_a_mentor_without_a_record_sees_nobody_and_logs_nothing(net, actions):
    actions.login("mentor2")
    home = actions.client.get("/mentor")
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    for name in ("Nguyễn Thị Hoa", "Võ Thị Khác", "Đinh Văn Tư", "alert(1)"):
        assert name not in html
    form = actions.client.get("/mentor/meeting/new")
    assert form.status_code in (200, 404)
    assert "Nguyễn Thị Hoa" not in form.get_data(as_text=True)
    before = _written()
    local = to_local(NOW)
    posted = actions.client.post(
        "/mentor/meeting/new",
        data={
            "csrf_token": _csrf(home),
            "people": [net["hoa"].id],
            "held": "yes",
            "place": "home",
            "day": local.strftime("%d/%m/%Y"),
            "time": local.strftime("%H:%M"),
            "minutes": "60",
        },
    )
    assert 400 <= posted.status_code < 500
    assert actions.client.get(f"/mentor/meeting/{net['binh_meeting'].id}").status_code == 404
    assert _written() == before


def test_a_meeting_with_someone_who_is_not_my_mentee_is_refused(net, actions):
    actions.login("mentor")
    before = _written()
    for people in ([net["khac"]], [net["hoa"], net["khac"]], [net["tu"]]):
        response = _post_meeting(actions, people)
        assert response.status_code == 422, [p.full_name for p in people]
        assert "không phải là lựa chọn hợp lệ" in response.get_data(as_text=True)
    assert _written() == before


@pytest.mark.parametrize(
    "forged",
    [
        "abc:1.1",
        "-1:1.1",
        "0:1.1",
        "99999999999999999999999999:1.1",
        "2147483648:1.1",
        ":1.1",
        "1.1",
        "",
        "lam:9.9",  # Lâm was not there
        "hoa:9.9",  # 9.9 was not practised (and does not exist)
        "hoa:2.1",  # a real code that was not practised
    ],
)
def test_forged_attestations_are_refused_with_a_message(net, actions, forged):
    actions.login("mentor")
    response = _post_meeting(actions, [net["hoa"]])
    assert response.status_code == 303
    meeting = db.session.scalar(select(Meeting).order_by(Meeting.id.desc()))
    page = actions.client.get(f"/mentor/meeting/{meeting.id}")
    value = forged.replace("hoa", str(net["hoa"].id)).replace("lam", str(net["lam"].id))
    before = _written()
    refused = actions.client.post(
        f"/mentor/meeting/{meeting.id}/attest",
        data={"csrf_token": _csrf(page), "can": [value]},
    )
    assert 400 <= refused.status_code < 500, value
    html = refused.get_data(as_text=True)
    assert "hợp lệ" in html, html[:3000]
    assert _written() == before


# --- 2. markup in names and notes, formulas in the export ------------------------------------


def _escaped_everywhere(html: str, path: str) -> None:
    for raw in (SCRIPT, IMG, "<b onmouseover", "<svg/onload", 'hx-get="/x"'):
        assert raw not in html, (path, raw)


def test_markup_in_names_and_notes_is_shown_as_text_everywhere(net, mw, actions, app, client):
    villain = mw.mentor(IMG)
    victim = mw.villager(IMG + " Bà", 1940, household=make_household(mw.v1, SCRIPT))
    services.assign(actor=mw.users["organiser"], now=NOW, mentor=villain, person=victim)
    db.session.commit()
    _log_by_service(mw, villain, [victim], note=NOTE)
    _log_by_service(mw, mw.mentors["an"], [net["evil"]], held=False, codes=(), note=NOTE)
    actions.login("mentor")
    own = _an_meeting(actions, net, note=NOTE)
    mentor_pages = ["/mentor", "/mentor/meeting/new", f"/mentor/meeting/{own.id}"]
    evil_meeting = db.session.scalar(
        select(Meeting).where(Meeting.mentor_id == mw.mentors["an"].id, Meeting.held.is_(False))
    )
    mentor_pages.append(f"/mentor/meeting/{evil_meeting.id}")
    for path in mentor_pages:
        page = actions.client.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        _escaped_everywhere(html, path)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in actions.client.get("/mentor").get_data(
        as_text=True
    )
    actions.logout()
    actions.login("organiser")
    manage = [
        "/mentoring",
        "/mentoring/digest",
        f"/mentoring/digest?village={mw.v1.id}",
        "/mentoring/mentors",
        f"/mentoring/mentors/{villain.id}",
        f"/mentoring/mentors/{villain.id}/edit",
        f"/mentoring/mentors/{mw.mentors['an'].id}",
        f"/mentoring/mentors/{mw.mentors['an'].id}?q=%3Cscript%3E",
        "/mentoring/mentors/new?q=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
    ]
    for path in manage:
        page = actions.client.get(path)
        assert page.status_code == 200, path
        _escaped_everywhere(page.get_data(as_text=True), path)
    overview = actions.client.get("/mentoring").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in overview
    digest = actions.client.get("/mentoring/digest").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in digest  # overdue, and nobody home
    # The mentee's phone asks about the villain's meeting: the mentor's name as text.
    db.session.add(
        Device(key="phone-victim", person_id=victim.id, created_at=NOW, last_used_at=NOW)
    )
    db.session.commit()
    actions.logout()
    with app.test_request_context():
        client.set_cookie(learner_views.COOKIE, learner_views._signer().dumps("phone-victim"))
    phone = client.get("/hoc").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in phone
    _escaped_everywhere(phone, "/hoc")


def _cells(data: bytes):
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [cell for sheet in book for row in sheet.iter_rows() for cell in row]


def test_the_export_never_holds_a_formula(net, mw, actions):
    organiser = mw.users["organiser"]
    for i, text in enumerate(FORMULAS):
        mentor = mw.mentor(text)
        household = make_household(mw.v1, f"{text[:30]}#{i}")
        mentee = mw.villager(f"{text} {i}", 1945 + i, household=household)
        services.assign(actor=organiser, now=NOW, mentor=mentor, person=mentee)
        db.session.commit()
        _log_by_service(mw, mentor, [mentee])
    actions.login("organiser")
    response = actions.client.get("/mentoring/export.xlsx")
    assert response.status_code == 200
    cells = _cells(response.data)
    texts = [c for c in cells if isinstance(c.value, str)]
    assert any(c.value.startswith("=HYPERLINK") for c in texts)  # the names are there…
    for cell in cells:
        assert cell.data_type != "f", (cell.coordinate, cell.value)  # …as text, never a formula
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in archive.read(name).decode(), name


# --- 3. CSRF ---------------------------------------------------------------------------------


def test_every_post_without_a_token_is_refused_and_writes_nothing(net, mw, actions, app, client):
    actions.login("mentor")
    own = _an_meeting(actions, net)
    ensure_learner_codes([net["hoa"]])
    db.session.add(
        Device(key="phone-hoa", person_id=net["hoa"].id, created_at=NOW, last_used_at=NOW)
    )
    db.session.commit()
    mentor_posts = {
        "/mentor/meeting/new": _form_data(actions, [net["hoa"]], nonce="fresh-nonce"),
        f"/mentor/meeting/{own.id}/attest": {"can": [f"{net['hoa'].id}:1.1"]},
        f"/mentor/meeting/{own.id}/present": {"code": net["hoa"].learner_code},
    }
    before = _written()
    for path, data in mentor_posts.items():
        data = {k: v for k, v in data.items() if k != "csrf_token"}
        assert actions.client.post(path, data=data).status_code == 400, path
    assert _written() == before
    actions.logout()
    actions.login("organiser")
    an, binh = mw.mentors["an"], mw.mentors["binh"]
    hoa_mentorship = db.session.scalar(
        select(Mentorship).where(Mentorship.person_id == net["hoa"].id, Mentorship.active)
    )
    someone = mw.villager("Phạm Văn Mới", 1960)
    db.session.commit()
    organiser_posts = {
        "/mentoring/mentors/new": {"person_id": someone.id, "organisation": "youth_union"},
        f"/mentoring/mentors/{an.id}/edit": {"organisation": "school", "village_id": ""},
        f"/mentoring/mentors/{binh.id}/end": {"note": "x"},
        f"/mentoring/mentors/{an.id}/link": {"user_id": ""},
        f"/mentoring/mentors/{an.id}/assign": {"person_id": someone.id},
        f"/mentoring/mentorships/{hoa_mentorship.id}/end": {"reason": "finished"},
        f"/mentoring/mentorships/{hoa_mentorship.id}/reassign": {"new_mentor_id": binh.id},
    }
    for path, data in organiser_posts.items():
        assert actions.client.post(path, data=data).status_code == 400, path
    db.session.expire_all()
    assert _written() == before
    assert an.organisation == "youth_union" and an.user_id == mw.users["mentor"].id
    actions.logout()
    with app.test_request_context():
        client.set_cookie(learner_views.COOKIE, learner_views._signer().dumps("phone-hoa"))
    tap = client.post(f"/hoc/gap/{own.id}", data={"person_id": net["hoa"].id})
    assert tap.status_code == 400
    assert _written() == before


# --- 4. nonsense in the meeting form ---------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"day": "31/02/2026"}, "ngày/tháng/năm"),
        ({"day": "99/99/9999"}, "ngày/tháng/năm"),
        ({"day": ""}, "Hãy nhập ngày"),
        ({"time": "25:99"}, "HH:MM"),
        ({"time": "abc"}, "HH:MM"),
        ({"minutes": "99999"}, "hợp lệ"),
        ({"minutes": "-5"}, "hợp lệ"),
        ({"minutes": "abc"}, "hợp lệ"),
        ({"place": "x"}, "hợp lệ"),
        ({"held": "maybe"}, "hợp lệ"),
        ({"note": "x" * 5000}, "500"),
        ({"people": "abc"}, "hợp lệ"),
        ({"people": "99999999999999999999"}, "hợp lệ"),
        ({"people": []}, "Hãy đánh dấu"),
        ({"practised": ["9.9"]}, "hợp lệ"),
        ({"practised": ["<script>"]}, "hợp lệ"),
        ({"day": "01/01/2020"}, "ngày"),  # too old to be logged
    ],
)
def test_nonsense_in_the_meeting_form_is_refused_in_vietnamese(net, actions, changes, said):
    actions.login("mentor")
    before = _written()
    response = _post_meeting(actions, [net["hoa"]], **changes)
    html = response.get_data(as_text=True)
    assert response.status_code in (400, 409, 422), (changes, response.status_code)
    assert said in html, (changes, html[:4000])
    assert "Not a valid" not in html and "This field is required" not in html
    assert _written() == before


def test_a_huge_nonce_is_cut_and_still_logs_one_meeting(net, actions):
    actions.login("mentor")
    data = _form_data(actions, [net["hoa"]], nonce="n" * 500)
    for _ in range(2):
        response = actions.client.post("/mentor/meeting/new", data=data)
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert _count(Meeting) == 2  # Bình's and this one
    assert all(len(n or "") <= 32 for n in db.session.scalars(select(Meeting.nonce)))


# --- 5. the mentee's confirmation ------------------------------------------------------------


def _phone(app, client, key, person):
    db.session.add(Device(key=key, person_id=person.id, created_at=NOW, last_used_at=NOW))
    db.session.commit()
    with app.test_request_context():
        client.set_cookie(learner_views.COOKIE, learner_views._signer().dumps(key))
    return _csrf(client.get("/hoc"))


def test_forged_confirmations_write_nothing_and_reveal_nothing(net, mw, actions, app, client):
    # The phone is Ba's (An's mentee for 20 days); Hoa and Lâm are An's mentees too.
    ba, hoa, lam = net["evil"], net["hoa"], net["lam"]
    an = mw.mentors["an"]
    attended = _log_by_service(mw, an, [ba])
    without_ba = _log_by_service(mw, an, [hoa, lam])
    not_held = _log_by_service(mw, an, [ba], held=False, codes=())
    old = _log_by_service(mw, an, [ba], now=NOW - timedelta(days=10))
    token = _phone(app, client, "phone-ba", ba)
    before = _written()

    def tap(meeting_id, person_id, **extra):
        data = {"csrf_token": token, "person_id": person_id, **extra}
        return client.post(f"/hoc/gap/{meeting_id}", data=data)

    # Someone else's person on this phone, whatever their id looks like: 400.
    for person_id in (lam.id, hoa.id, net["khac"].id, 999999, "abc", -1, "99999999999999999999"):
        assert tap(attended.id, person_id).status_code == 400, person_id
    assert tap(attended.id, "").status_code == 400
    # Meetings Ba cannot confirm: the same answer as one that does not exist.
    answers = {}
    for label, meeting_id in (
        ("not attended", without_ba.id),
        ("not held", not_held.id),
        ("10 days ago", old.id),
        ("no such meeting", 999999),
        ("another mentor's", net["binh_meeting"].id),
    ):
        response = tap(meeting_id, ba.id)
        assert response.status_code < 500, label
        answers[label] = response.status_code
    assert len(set(answers.values())) == 1, answers
    assert client.post("/hoc/gap/99999999999999999999", data={"csrf_token": token}).status_code in (
        400,
        404,
    )
    assert _written() == before
    # Without the phone's cookie (or with a forged one): 400.
    client.delete_cookie(learner_views.COOKIE)
    assert tap(attended.id, ba.id).status_code == 400
    client.set_cookie(learner_views.COOKIE, "phone-ba")  # not signed
    assert tap(attended.id, ba.id).status_code == 400
    assert _written() == before
    with app.test_request_context():
        client.set_cookie(learner_views.COOKIE, learner_views._signer().dumps("phone-ba"))
    assert tap(attended.id, ba.id).status_code == 303  # the genuine tap still works
    assert _count(MeetingConfirmation) == 1


def test_a_phone_linked_to_someone_else_cannot_confirm_for_them(net, mw, app, client):
    hoa, lam = net["hoa"], net["lam"]
    meeting = _log_by_service(mw, mw.mentors["an"], [hoa, lam])
    token = _phone(app, client, "phone-lam", lam)
    before = _written()
    response = client.post(
        f"/hoc/gap/{meeting.id}", data={"csrf_token": token, "person_id": hoa.id}
    )
    assert response.status_code == 400
    assert _written() == before
    done = client.post(f"/hoc/gap/{meeting.id}", data={"csrf_token": token, "person_id": lam.id})
    assert done.status_code == 303
    confirmed = db.session.scalars(select(MeetingConfirmation)).all()
    assert [(c.meeting_id, c.person_id) for c in confirmed] == [(meeting.id, lam.id)]


# --- 6. learner codes ------------------------------------------------------------------------


def test_learner_codes_are_shown_nowhere_in_mentoring(net, mw, actions):
    people = [net["hoa"], net["lam"], net["evil"], net["khac"], net["tu"]]
    ensure_learner_codes(people)
    db.session.commit()
    codes = [p.learner_code for p in people]
    assert all(codes)
    actions.login("mentor")
    own = _an_meeting(actions, net)
    _log_by_service(mw, mw.mentors["an"], [net["evil"]], held=False, codes=())
    paths = ["/mentor", "/mentor/meeting/new", f"/mentor/meeting/{own.id}"]
    paths += [f"/mentor/meeting/new?person={p.id}" for p in people]
    paths.append(f"/mentor/meeting/new?household={net['hoa'].household_id}")
    for path in paths:
        html = actions.client.get(path).get_data(as_text=True)
        for code in codes:
            assert code not in html, (path, code)
    actions.logout()
    for user in ("organiser", "lead"):
        actions.login(user)
        for path in ("/mentoring", "/mentoring/digest", "/mentoring/mentors"):
            html = actions.client.get(path).get_data(as_text=True)
            for code in codes:
                assert code not in html, (user, path, code)
        values = {str(c.value) for c in _cells(actions.client.get("/mentoring/export.xlsx").data)}
        assert not set(codes) & values, user
        actions.logout()


# --- 7. the same form twice ------------------------------------------------------------------


def test_the_same_form_sent_twice_logs_one_meeting(net, actions):
    actions.login("mentor")
    data = _form_data(actions, [net["hoa"], net["lam"]])
    first = actions.client.post("/mentor/meeting/new", data=data)
    second = actions.client.post("/mentor/meeting/new", data=data)
    changed = dict(data, people=[net["hoa"].id], note="lần ba")  # the same nonce, edited
    third = actions.client.post("/mentor/meeting/new", data=changed)
    assert [r.status_code for r in (first, second, third)] == [303, 303, 303]
    assert first.headers["Location"] == second.headers["Location"] == third.headers["Location"]
    mine = db.session.scalars(
        select(Meeting).where(Meeting.mentor_id != net["binh_meeting"].mentor_id)
    ).all()
    assert len(mine) == 1
    rows = db.session.scalars(
        select(Attendance).where(
            Attendance.occasion_kind == OccasionKind.MEETING, Attendance.occasion_id == mine[0].id
        )
    )
    assert sorted(r.person_id for r in rows) == sorted([net["hoa"].id, net["lam"].id])


# --- more: the stranger's card, the other village's mentee, nonsense with NUL -----------------


def test_a_strangers_learner_code_does_not_tell_the_mentor_their_name(net, actions):
    actions.login("mentor")
    own = _an_meeting(actions, net)
    ensure_learner_codes([net["khac"]])
    db.session.commit()
    page = actions.client.get(f"/mentor/meeting/{own.id}")
    refused = actions.client.post(
        f"/mentor/meeting/{own.id}/present",
        data={"csrf_token": _csrf(page), "code": net["khac"].learner_code},
    )
    assert 400 <= refused.status_code < 500
    assert "Võ Thị Khác" not in refused.get_data(as_text=True)
    unknown = actions.client.post(
        f"/mentor/meeting/{own.id}/present", data={"csrf_token": _csrf(page), "code": "ZZZ999"}
    )
    # The same answer for a code that is nobody's: nothing tells one from the other.
    said_unknown = unknown.get_data(as_text=True)
    assert "Không có người nào bạn hướng dẫn có mã học viên này" in said_unknown
    assert unknown.status_code == refused.status_code
    said = re.compile(r'<p class="error"[^>]*>([^<]*)</p>')
    assert said.findall(unknown.get_data(as_text=True)) == said.findall(
        refused.get_data(as_text=True)
    )


def test_a_village_lead_sees_no_mentee_of_another_village_anywhere(net, mw, actions):
    """An (Thôn 1) also guides Út, who lives in Thôn 2: the lead of Thôn 1 sees An but not Út,
    on the overview, the digest and in the export, nor her visit with nobody home."""
    ut = mw.villager("Hà Thị Út", 1941, mw.v2)
    services.assign(
        actor=mw.users["organiser"],
        now=NOW - timedelta(days=30),
        mentor=mw.mentors["an"],
        person=ut,
    )
    db.session.commit()
    _log_by_service(mw, mw.mentors["an"], [ut], held=False, codes=(), now=NOW - timedelta(days=1))
    _log_by_service(mw, mw.mentors["an"], [ut, net["hoa"]], note="Út và Hoa")
    actions.login("lead")
    for path in ("/mentoring", "/mentoring/digest", f"/mentoring/digest?village={mw.v1.id}"):
        html = actions.client.get(path).get_data(as_text=True)
        assert "Nguyễn Văn An" in html or path == "/mentoring/digest", path
        assert "Hà Thị Út" not in html and "Đinh Văn Tư" not in html, path
    values = {str(c.value) for c in _cells(actions.client.get("/mentoring/export.xlsx").data)}
    assert not any("Hà Thị Út" in v or "Đinh Văn Tư" in v for v in values)
    assert actions.client.get(f"/mentoring/digest?village={mw.v2.id}").status_code == 404


def test_the_organiser_of_another_commune_reaches_nothing(net, mw, actions):
    actions.login("other_organiser")
    an = mw.mentors["an"]
    assert actions.client.get(f"/mentoring/mentors/{an.id}").status_code == 404
    assert actions.client.get(f"/mentoring/digest?village={mw.v1.id}").status_code == 404
    for path in ("/mentoring", "/mentoring/digest", "/mentoring/mentors"):
        html = actions.client.get(path).get_data(as_text=True)
        assert "Nguyễn Văn An" not in html and "Nguyễn Thị Hoa" not in html, path


@pytest.mark.parametrize(
    "changes",
    [
        {"nonce": "\x00abc"},
        {"note": "a\x00b"},
        {"place": "home\x00"},
        {"day": "25/11/2025\x00"},
        {"time": "10:00\x00"},
        {"nonce": "ñ" * 40},
    ],
)
def test_control_characters_in_the_meeting_form_never_break_it(net, actions, changes):
    actions.login("mentor")
    response = _post_meeting(actions, [net["hoa"]], **changes)
    assert response.status_code in (303, 400, 422), (changes, response.status_code)
    assert _count(Meeting) <= 2


@pytest.mark.parametrize("code", ["\x00", "A" * 5000, "<script>", "' OR 1=1 --", "ÀBC123"])
def test_nonsense_learner_codes_are_refused_with_a_message(net, actions, code):
    actions.login("mentor")
    own = _an_meeting(actions, net)
    page = actions.client.get(f"/mentor/meeting/{own.id}")
    before = _written()
    refused = actions.client.post(
        f"/mentor/meeting/{own.id}/present", data={"csrf_token": _csrf(page), "code": code}
    )
    assert 400 <= refused.status_code < 500, code
    assert "<script>" not in refused.get_data(as_text=True)
    assert _written() == before


def test_a_meeting_before_the_mentorship_began_is_refused_whole(net, actions):
    """Hoa became An's mentee today: a meeting logged for yesterday with Hoa and Ba (a mentee
    for 20 days) is refused by the attendance service, and the meeting row goes too."""
    actions.login("mentor")
    before = _written()
    yesterday = to_local(NOW - timedelta(days=1)).strftime("%d/%m/%Y")
    response = _post_meeting(actions, [net["evil"], net["hoa"]], day=yesterday)
    assert response.status_code == 409, response.get_data(as_text=True)[:2000]
    assert "Nguyễn Thị Hoa" in response.get_data(as_text=True)
    assert _written() == before


def test_an_ended_mentor_logs_and_attests_nothing(net, mw, actions):
    actions.login("mentor")
    own = _an_meeting(actions, net)
    token = _csrf(actions.client.get(f"/mentor/meeting/{own.id}"))
    data = _form_data(actions, [net["hoa"]])
    services.end_mentor(actor=mw.users["organiser"], now=NOW, mentor=mw.mentors["an"])
    db.session.commit()
    before = _written()
    logged = actions.client.post("/mentor/meeting/new", data=data)
    assert 400 <= logged.status_code < 500
    attest = {"csrf_token": token, "can": [f"{net['hoa'].id}:1.1"]}
    assert actions.client.post(f"/mentor/meeting/{own.id}/attest", data=attest).status_code in (
        403,
        404,
    )
    assert "Nguyễn Thị Hoa" not in actions.client.get("/mentor").get_data(as_text=True)
    assert _written() == before


def test_attesting_twice_records_each_pair_once(net, actions):
    actions.login("mentor")
    own = _an_meeting(actions, net)
    token = _csrf(actions.client.get(f"/mentor/meeting/{own.id}"))
    data = {"csrf_token": token, "can": [f"{net['hoa'].id}:1.1", f"{net['lam'].id}:1.1"]}
    for _ in range(3):
        assert actions.client.post(f"/mentor/meeting/{own.id}/attest", data=data).status_code == 303
    assert _count(Evidence) == 2


def test_managers_cannot_move_people_or_mentors_out_of_their_reach(net, mw, actions):
    """A lead of Thôn 1 neither ends the mentorship of An's mentee who lives in Thôn 2, nor
    gives Hoa to the Thôn 2 mentor, nor moves An to Thôn 2, nor links log-ins; an organiser
    moves no mentor into another commune and makes no mentor of another commune's person."""
    ut = mw.villager("Hà Thị Út", 1941, mw.v2)
    stranger = mw.villager("Người Xã Khác", 1970, mw.other_village)
    an, cuong = mw.mentors["an"], mw.mentors["cuong"]
    services.assign(actor=mw.users["organiser"], now=NOW, mentor=an, person=ut)
    db.session.commit()

    def mentorship_of(person):
        return db.session.scalar(
            select(Mentorship.id).where(Mentorship.person_id == person.id, Mentorship.active)
        )

    before = _written()
    actions.login("lead")
    token = actions.csrf_token("/mentoring/mentors")
    refused = {
        f"/mentoring/mentorships/{mentorship_of(ut)}/end": {"reason": "finished"},
        f"/mentoring/mentorships/{mentorship_of(net['hoa'])}/reassign": {"new_mentor_id": cuong.id},
        f"/mentoring/mentors/{an.id}/link": {"user_id": ""},
    }
    for path, data in refused.items():
        response = actions.client.post(path, data={"csrf_token": token, **data})
        assert response.status_code in (403, 404), path
    moved = actions.client.post(
        f"/mentoring/mentors/{an.id}/edit",
        data={"csrf_token": token, "organisation": "youth_union", "village_id": mw.v2.id},
    )
    assert moved.status_code in (403, 404, 422), moved.status_code
    actions.logout()
    actions.login("organiser")
    token = actions.csrf_token("/mentoring/mentors")
    elsewhere = actions.client.post(
        f"/mentoring/mentors/{an.id}/edit",
        data={"csrf_token": token, "organisation": "school", "village_id": mw.other_village.id},
    )
    assert 400 <= elsewhere.status_code < 500
    foreign = actions.client.post(
        "/mentoring/mentors/new",
        data={"csrf_token": token, "person_id": stranger.id, "organisation": "school"},
    )
    assert 400 <= foreign.status_code < 500
    db.session.expire_all()
    assert _written() == before
    assert an.village_id is None and an.organisation == "youth_union"
    assert an.user_id == mw.users["mentor"].id
