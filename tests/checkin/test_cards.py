"""Check-in without the learner's phone: printed QR cards, the card's public page, the trainer's
scan page (photo, camera reading, typed code) and the paper sign-in sheet."""

import io
import random
import re
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy import select

from tests.checkin.checkin_world import build
from tests.factories import make_person, make_user
from webapp import qr
from webapp.checkin.cards import learner_code_in
from webapp.checkin.cards_views import card_url
from webapp.checkin.models import Attendance
from webapp.extensions import db
from webapp.people.models import Commune, Person, Village
from webapp.permissions import Role
from webapp.text import vietnamese_sorted
from webapp.timeutil import to_local

JSON = {"Accept": "application/json"}


@pytest.fixture
def cw(app, world):
    with app.app_context():
        return build(world)


def _person(app, person_id) -> Person:
    with app.app_context():
        person = db.session.get(Person, person_id)
        db.session.expunge(person)
        return person


def _card_text(app, person_id) -> str:
    with app.test_request_context():
        return card_url(db.session.get(Person, person_id))


def _records(app) -> list[Attendance]:
    with app.app_context():
        found = list(db.session.scalars(select(Attendance).order_by(Attendance.id)))
        db.session.expunge_all()
        return found


def _png(text: str, box_size: int = 10) -> bytes:
    code = qr.make(text)
    code.box_size = box_size
    out = io.BytesIO()
    code.make_image().save(out, format="PNG")
    return out.getvalue()


def _decode(data: bytes) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


def _photo(texts: list[str], *, angle: float = 14, size=(3200, 2400)) -> bytes:
    """A phone-like JPEG: cards on a grey table, turned a little, blurred, noisy, large."""
    rng = random.Random(4)
    table = Image.new("L", size, 150)
    for i, text in enumerate(texts):
        card = Image.new("L", (900, 900), 245)
        code = Image.open(io.BytesIO(_png(text, box_size=22))).convert("L")
        card.paste(code, ((900 - code.width) // 2, (900 - code.height) // 2))
        card = card.rotate(angle, expand=True, fillcolor=150)
        table.paste(card, (300 + i * 1400, 500))
    noise = Image.effect_noise(size, 28)
    photo = Image.blend(table, noise, 0.12).filter(ImageFilter.GaussianBlur(1.2))
    photo = photo.point(lambda v: min(255, max(0, v + rng.randint(-3, 3))))
    out = io.BytesIO()
    photo.convert("RGB").save(out, format="JPEG", quality=70)
    return out.getvalue()


def _scan(actions, cw, data: dict, **kwargs):
    page = f"/sessions/{cw.session_id}/scan"
    return actions.post(page, data, token_from=page, **kwargs)


# --- cards ---------------------------------------------------------------------------------


def test_class_cards_list_learners_by_village_then_name_with_codes(actions, client, cw, app, world):
    with app.app_context():  # a learner of Thôn 2: after Thôn 1 although "An" sorts first
        from webapp.scheduling.models import Enrolment

        other = make_person(db.session.get(Village, world.village_ids[1]), "Trần Văn An", 1955)
        db.session.add(
            Enrolment(
                class_id=cw.class_id, person_id=other.id, status="enrolled", since=other.created_at
            )
        )
        db.session.commit()
        other_id = other.id
    actions.login("trainer")
    response = client.get(f"/classes/{cw.class_id}/cards")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    names = vietnamese_sorted(cw.learners)
    order = [html.index(name) for name in [*names, "Trần Văn An"]]
    assert order == sorted(order)
    assert "Lê Văn Tám" not in html  # not enrolled
    assert html.count("<svg") == 4
    for person_id in [*cw.learners.values(), other_id]:
        person = _person(app, person_id)
        assert person.learner_code and len(person.learner_code) == 6
        assert f"{person.learner_code[:3]} {person.learner_code[3:]}" in html
        # The card's QR is the QR of the card's address.
        path = re.search(r' d="([^"]+)"', qr.svg(_card_text(app, person_id)).decode()).group(1)
        assert path in html


def test_the_card_qr_decodes_to_the_card_address(app, cw):
    person_id = cw.learners["Y Blích"]
    code = _person(app, person_id).learner_code
    text = _card_text(app, person_id)
    assert text == app.config["BASE_URL"] + "/p/" + code
    assert qr.make(text).version <= 4
    assert _decode(_png(text)) == [text]
    assert learner_code_in(text) == code
    assert learner_code_in(code.lower()) == code
    assert learner_code_in(f"{code[:3]} {code[3:]}") == code
    assert learner_code_in("https://lopso.example/c/abcdefgh") is None
    assert learner_code_in("https://zalo.me/123") is None


def _raster(svg: str, scale: int = 8) -> Image.Image:
    """The SVG's one path drawn with PIL: its rectangles (``M x,y h w v h h -w z``), black."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    (path,) = re.findall(r'<path [^>]*d="([^"]+)"', svg)
    rectangles = re.findall(r"M([\d.]+),([\d.]+)h([\d.]+)v([\d.]+)h-[\d.]+z", path)
    assert "".join(f"M{x},{y}h{w}v{h}h-{w}z" for x, y, w, h in rectangles) == path
    for x, y, w, h in (map(float, r) for r in rectangles):
        draw.rectangle((x * scale, y * scale, (x + w) * scale - 1, (y + h) * scale - 1), fill=0)
    return image


def test_the_cards_page_draws_each_qr_as_one_small_path_with_unique_ids(actions, client, cw, app):
    """One ``<path>`` per QR (not one shape per module), no repeated id, and it decodes."""
    actions.login("trainer")
    html = client.get(f"/classes/{cw.class_id}/cards").get_data(as_text=True)
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) == 3
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    texts = {_card_text(app, person_id) for person_id in cw.learners.values()}
    for svg in svgs:
        assert svg.count("<path") == 1 and "<rect" not in svg
        assert len(svg.encode()) < 4000  # was 6.8 KB, one square per module
        (found,) = zxingcpp.read_barcodes(_raster(svg), formats=zxingcpp.BarcodeFormat.QRCode)
        assert found.text in texts
        texts.discard(found.text)
    assert not texts


def test_village_cards_everyone_of_the_village_and_a_group_filter(actions, client, cw, app, world):
    with app.app_context():
        student = make_person(
            db.session.get(Village, world.village_ids[0]),
            "Phạm Minh Khôi",
            2010,
            target_group="student",
        )
        make_person(db.session.get(Village, world.village_ids[1]), "Võ Thị Thôn Hai", 1980)
        db.session.commit()
        student_id = student.id
    actions.login("lead")  # the village lead of Thôn 1
    html = client.get(f"/villages/{world.village_ids[0]}/cards").get_data(as_text=True)
    for name in [*cw.learners, "Lê Văn Tám", "Phạm Minh Khôi"]:
        assert name in html
    assert "Võ Thị Thôn Hai" not in html
    assert html.count("<svg") == 5
    only = client.get(f"/villages/{world.village_ids[0]}/cards?group=student")
    assert only.get_data(as_text=True).count("<svg") == 1
    assert _person(app, student_id).learner_code in only.get_data(as_text=True).replace(" ", "")
    assert client.get(f"/villages/{world.village_ids[1]}/cards").status_code == 404
    actions.logout()
    for role in ("mentor", "trainer"):  # a trainer prints the cards of their own class only
        actions.login(role)
        assert client.get(f"/villages/{world.village_ids[0]}/cards").status_code == 403
        actions.logout()
    actions.login("other_organiser")
    assert client.get(f"/villages/{world.village_ids[0]}/cards").status_code == 404


# --- the card's public page ------------------------------------------------------------------


def test_the_card_page_shows_no_personal_data_to_visitors(client, actions, cw, app):
    person = _person(app, cw.learners["Nguyễn Thị Hồng Nhung"])
    response = client.get(f"/p/{person.learner_code}")
    assert response.status_code == 200 and response.headers["X-Robots-Tag"] == "noindex"
    html = response.get_data(as_text=True)
    for private in (person.full_name, "Nhung", str(person.birth_year), "Thôn 1", person.phone):
        assert private not in html
    # An unknown code looks the same: the address does not tell whether a code exists.
    unknown = client.get("/p/AAAAAA")
    assert unknown.status_code == 200
    assert unknown.get_data(as_text=True) == html.replace(person.learner_code, "AAAAAA")
    # Staff who may see the person go to the person's page; others see the same short page.
    actions.login("trainer")
    response = client.get(f"/p/{person.learner_code.lower()}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/people/{person.id}")
    actions.logout()
    actions.login("other_organiser")
    response = client.get(f"/p/{person.learner_code}")
    assert response.status_code == 200 and person.full_name not in response.get_data(as_text=True)


# --- the scan page -----------------------------------------------------------------------------


def test_scan_page_offers_camera_photo_and_typed_code(actions, client, cw):
    actions.login("trainer")
    html = client.get(f"/sessions/{cw.session_id}/scan").get_data(as_text=True)
    assert 'id="scan-camera"' in html and "js/scan.js" in html
    assert 'type="file"' in html and 'accept="image/*"' in html and 'capture="environment"' in html
    assert 'name="code"' in html and 'enctype="multipart/form-data"' in html
    assert "<script>" not in html  # the CSP allows no inline script


def test_a_photo_of_a_card_checks_the_learner_in_once(actions, client, cw, app, world):
    person_id = cw.learners["Đặng Văn Ướt"]
    text = _card_text(app, person_id)
    actions.login("trainer")
    response = _scan(actions, cw, {"photo": (io.BytesIO(_png(text)), "card.png")})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/sessions/{cw.session_id}/scan")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đặng Văn Ướt" in page and "flash-success" in page
    [record] = _records(app)
    assert (record.person_id, record.method, record.status) == (person_id, "card", "present")
    assert record.recorded_by_id == world.users["trainer"]
    again = _scan(actions, cw, {"photo": (io.BytesIO(_png(text)), "card.png")}, headers=JSON)
    [result] = again.get_json()["results"]
    assert result["ok"] and result["code"] == "already" and result["name"] == "Đặng Văn Ướt"
    assert len(_records(app)) == 1


def test_a_phone_photo_turned_and_noisy_is_read(actions, cw, app):
    person_id = cw.learners["Y Blích"]
    actions.login("trainer")
    photo = _photo([_card_text(app, person_id)])
    response = _scan(actions, cw, {"photo": (io.BytesIO(photo), "IMG_0001.jpg")}, headers=JSON)
    [result] = response.get_json()["results"]
    assert (result["ok"], result["code"], result["name"]) == (True, "checked_in", "Y Blích")
    assert [r.person_id for r in _records(app)] == [person_id]


def test_several_cards_in_one_photo_are_each_checked_in(actions, cw, app):
    ids = [cw.learners["Y Blích"], cw.learners["Nguyễn Thị Hồng Nhung"]]
    actions.login("trainer")
    photo = _photo([_card_text(app, i) for i in ids], angle=-8)
    response = _scan(actions, cw, {"photo": (io.BytesIO(photo), "cards.jpg")}, headers=JSON)
    results = response.get_json()["results"]
    assert sorted(r["code"] for r in results) == ["checked_in", "checked_in"]
    assert sorted(r.person_id for r in _records(app)) == sorted(ids)


def test_a_photo_without_a_readable_code_writes_nothing(actions, client, cw, app):
    actions.login("trainer")
    blank = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 190, 180)).save(blank, format="JPEG")
    response = _scan(actions, cw, {"photo": (io.BytesIO(blank.getvalue()), "x.jpg")}, headers=JSON)
    [result] = response.get_json()["results"]
    assert (result["ok"], result["code"]) == (False, "no_qr_in_photo")
    assert result["message"]
    not_image = _scan(actions, cw, {"photo": (io.BytesIO(b"%PDF-1.4 ..."), "x.pdf")})
    page = client.get(not_image.headers["Location"]).get_data(as_text=True)
    assert "flash-error" in page
    assert _records(app) == []


def test_a_photo_over_the_size_limit_is_refused(actions, cw, app, monkeypatch):
    actions.login("trainer")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 20_000)
    text = _card_text(app, cw.learners["Y Blích"])
    response = _scan(actions, cw, {"photo": (io.BytesIO(_photo([text])), "big.jpg")})
    assert response.status_code == 413
    assert _records(app) == []


def test_the_camera_reading_and_a_typed_code(actions, cw, app):
    actions.login("trainer")
    nhung = _person(app, cw.learners["Nguyễn Thị Hồng Nhung"])
    camera = _scan(actions, cw, {"scanned": _card_text(app, nhung.id)}, headers=JSON)
    assert camera.get_json()["results"][0]["code"] == "checked_in"
    assert "Accept" in camera.headers["Vary"]
    blich = _person(app, cw.learners["Y Blích"])
    typed = f"{blich.learner_code[:3].lower()} {blich.learner_code[3:]}"
    fragment = _scan(actions, cw, {"code": typed}, headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "Y Blích" in html and "scan-ok" in html
    assert "<html" not in html
    methods = {r.person_id: r.method for r in _records(app)}
    assert methods == {nhung.id: "card", blich.id: "code"}


def test_a_card_scanned_again_looks_unlike_a_new_check_in(actions, client, cw, app, clock):
    """Colour, icon and words: "vừa điểm danh lúc 14:01" (green, a tick) the first time,
    "đã điểm danh rồi lúc 14:01" (amber, a circle arrow) for the same card again."""
    from webapp.checkin.occasions import SessionOccasion
    from webapp.scheduling.models import ClassSession

    with app.app_context():
        session = db.session.get(ClassSession, cw.session_id)
        clock.set(SessionOccasion(session).starts_at + timedelta(minutes=1))
        first_time = to_local(clock()).strftime("%H:%M")
    actions.login("trainer")
    card = {"scanned": _card_text(app, cw.learners["Y Blích"])}
    htmx = {"HX-Request": "true"}
    first = _scan(actions, cw, card, headers=htmx).get_data(as_text=True)
    clock.set(clock() + timedelta(minutes=5))
    again = _scan(actions, cw, card, headers=htmx).get_data(as_text=True)
    assert 'class="scan-outcome scan-ok" data-kind="new"' in first and "✓" in first
    assert f"vừa điểm danh lúc {first_time}" in first and "rồi" not in first
    assert 'class="scan-outcome scan-repeat" data-kind="repeat"' in again and "↻" in again
    assert f"đã điểm danh rồi lúc {first_time}" in again and "scan-ok" not in again
    [result] = _scan(actions, cw, card, headers=JSON).get_json()["results"]
    assert (result["kind"], result["message"]) == ("repeat", f"đã điểm danh rồi lúc {first_time}")
    # Without JavaScript: the message on the page again, in the repeat's own colour.
    page = client.get(_scan(actions, cw, card).headers["Location"]).get_data(as_text=True)
    assert "flash-repeat" in page and "flash-success" not in page
    assert "css/live.css" in page  # where .scan-repeat and .flash-repeat are drawn
    assert len(_records(app)) == 1


def test_refusals_are_messages_and_write_nothing(actions, cw, app):
    actions.login("trainer")
    outsider = _person(app, cw.outsider_id)
    cases = [
        ({"code": outsider.learner_code}, "not_enrolled"),
        ({"code": "QQQQQQ"}, "unknown_learner_code"),
        ({"code": "AB"}, "unknown_learner_code"),
        ({"scanned": f"http://127.0.0.1:5000/c/{cw.token}"}, "not_a_card"),
        ({}, "nothing_sent"),
    ]
    for data, code in cases:
        [result] = _scan(actions, cw, data, headers=JSON).get_json()["results"]
        assert (result["ok"], result["code"]) == (False, code), data
    [result] = _scan(actions, cw, {"code": outsider.learner_code}, headers=JSON).get_json()[
        "results"
    ]
    assert outsider.full_name in result["message"]
    assert _records(app) == []


def test_only_the_class_runners_may_scan(actions, client, cw, app, world):
    with app.app_context():
        make_user("trainer2", Role.TRAINER, db.session.get(Commune, world.commune_id))
        db.session.commit()
    code = _person(app, cw.learners["Y Blích"]).learner_code
    actions.login("trainer2")
    assert client.get(f"/sessions/{cw.session_id}/scan").status_code == 403
    assert _scan(actions, cw, {"code": code}).status_code == 403
    assert client.get(f"/sessions/{cw.session_id}/sheet").status_code == 403
    assert client.get(f"/classes/{cw.class_id}/cards").status_code == 403
    actions.logout()
    actions.login("other_organiser")
    assert client.get(f"/sessions/{cw.session_id}/scan").status_code == 404
    actions.logout()
    actions.login("organiser")  # a manager of the commune runs every class
    assert _scan(actions, cw, {"code": code}).status_code == 302
    assert len(_records(app)) == 1


# --- the paper sign-in sheet -------------------------------------------------------------------


def test_the_sign_in_sheet_lists_learners_with_codes(actions, client, cw, app):
    actions.login("trainer")
    response = client.get(f"/sessions/{cw.session_id}/sheet")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    names = vietnamese_sorted(cw.learners)
    order = [html.index(name) for name in names]
    assert order == sorted(order)
    for person_id in cw.learners.values():
        code = _person(app, person_id).learner_code
        assert f"{code[:3]} {code[3:]}" in html
    assert "Lê Văn Tám" not in html
    assert html.count('class="signin-blank"') == 5
    assert html.count('<td class="signin-sign"></td>') == 3 + 5
