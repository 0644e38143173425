"""The light pages in Chromium: every link and button a learner or a visitor taps is at least
44 px high (on a 360x740 phone and on a desktop), nothing scrolls sideways, no scroll area is
out of the keyboard's reach, and the village's printed notice is one A4 sheet."""

import re
import subprocess

import pytest

from tests.browser.conftest import ARTIFACTS, login
from tests.test_light_pages import QUIZ, build_light_world, page_urls

pytestmark = pytest.mark.browser

#: Every tap target of the page that is shown: its text and size.
TARGETS = """() => [...document.querySelectorAll('a, button, input[type=submit], summary')]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map(e => { const r = e.getBoundingClientRect();
    return {text: (e.innerText || e.value || '').trim().slice(0, 60), height: r.height,
            width: r.width}; })"""

#: axe-core's scrollable-region-focusable, in short: an element that scrolls (its content is
#: larger than its box and its overflow is auto or scroll) must be focusable itself or hold
#: something focusable, or a keyboard cannot scroll it.
UNREACHABLE_SCROLLERS = """() => [...document.querySelectorAll('body *')].filter(e => {
  const s = getComputedStyle(e);
  const scrolls = (['auto', 'scroll'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1)
    || (['auto', 'scroll'].includes(s.overflowY) && e.scrollHeight > e.clientHeight + 1);
  return scrolls && e.tabIndex < 0 && !e.querySelector(
    'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])');
}).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))"""


@pytest.fixture
def lw(app, world):
    with app.app_context():
        return build_light_world(world)


def _look(page, name: str, seen: dict) -> None:
    """Measure the page's tap targets and sideways scrolling; take its screenshot."""
    small = [t for t in page.evaluate(TARGETS) if t["height"] < 44 - 0.01]
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    seen[name] = {"small": small, "wide": wide, "hidden": page.evaluate(UNREACHABLE_SCROLLERS)}
    assert page.locator("script").count() == 0, name
    page.screens.shot(re.sub(r"[^a-z0-9]+", "-", name))


def _submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).first.click()


def test_every_tap_target_of_the_light_pages_is_44px_high(app, page, lw):
    seen: dict[str, dict] = {}
    for name, url in page_urls(lw).items():
        page.goto(url)
        _look(page, name, seen)

    scan = f"/c/{lw.checkin_token}"
    page.goto(scan)
    page.fill('input[name="phone"]', "0900 000 000")
    page.fill('input[name="birth_year"]', "1958")
    _submit(page, 'button[value="identify"]')
    _look(page, "check-in wrong details", seen)
    page.fill('input[name="phone"]', "0905 123 456")
    page.fill('input[name="birth_year"]', "1958")
    _submit(page, 'button[value="identify"]')
    assert "/ok?" in page.url
    _look(page, "checked in", seen)
    page.goto(scan)
    _look(page, "check-in known phone", seen)
    page.goto(f"{scan}?other=1")
    _look(page, "check-in someone else", seen)

    page.goto("/hoc")
    _look(page, "quizzes", seen)
    page.goto(f"/hoc/quiz/{QUIZ}?person={lw.nhung}")
    _look(page, "quiz start", seen)
    _submit(page, "form button.big")
    _look(page, "quiz question", seen)
    while "/result" not in page.url:
        _submit(page, 'button[name="choice"]')
    _look(page, "quiz result", seen)

    page.context.clear_cookies()  # a stranger's phone
    page.goto(scan)
    for button in ("identify", "ask"):  # not in the class: then offered to ask to join
        page.fill('input[name="phone"]', "0911 222 333")
        page.fill('input[name="birth_year"]', "1970")
        _submit(page, f'button[value="{button}"]')
    assert "/ok?" in page.url
    _look(page, "asked to join", seen)

    page.goto(f"/lop/{lw.class_token}")
    page.fill('input[name="birth_year"]', "19")
    _submit(page, ".signup-box button[type=submit]")
    _look(page, "sign-up with mistakes", seen)
    page.fill('input[name="full_name"]', "Phạm Thị Lan")
    page.fill('input[name="birth_year"]', "1961")
    page.select_option('select[name="village_id"]', str(lw.village_id))
    page.check('input[name="consent"]')
    _submit(page, ".signup-box button[type=submit]")
    _look(page, "sign-up sent", seen)

    app.config["CERTIFICATE_VERIFY_MAX_PER_ADDRESS"] = 0
    try:
        page.goto(f"/v/{lw.verify_code}")
    finally:
        app.config["CERTIFICATE_VERIFY_MAX_PER_ADDRESS"] = 60
    _look(page, "certificate too many tries", seen)

    assert len(seen) == 28
    assert {n: s["small"] for n, s in seen.items() if s["small"]} == {}
    assert {n: s["wide"] for n, s in seen.items() if s["wide"] > 0} == {}
    assert {n: s["hidden"] for n, s in seen.items() if s["hidden"]} == {}


def _pdf_pages(pdf: bytes, name: str) -> tuple[int, str]:
    """The number of pages of a PDF and the text of its first page (poppler-utils)."""
    path = ARTIFACTS / f"{name}.pdf"
    ARTIFACTS.mkdir(exist_ok=True)
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M)[1])
    first = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(path.with_suffix(""))])
    return pages, first


@pytest.mark.parametrize("viewport", ["desktop"])
def test_the_village_notice_prints_on_one_a4_sheet(page, lw):
    page.goto(f"/lich/in?village={lw.village_id}")
    pages, first = _pdf_pages(page.pdf(format="A4"), "notice-village")
    assert pages == 1, first
    assert "LỚP HỌC KỸ NĂNG SỐ" in first.upper() and "Thôn 2" in first
    assert "Quét mã" in first  # the QR code's words, and the address it holds
    assert f"/lich?village={lw.village_id}" in "".join(first.split())
    for topic in ("VNeID", "Zalo", "mã QR"):
        assert topic in first, topic
    # Nothing of the table runs past the heading's rule into the margin (on paper it is cut):
    # laid out for print at the width of A4 inside its margins (180 mm, 680 CSS px).
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 680, "height": 1000})
    head = page.locator(".notice-head").bounding_box()
    for box in page.locator(".notice-table").evaluate_all(
        "ts => ts.map(t => t.getBoundingClientRect().right)"
    ):
        assert box <= head["x"] + head["width"] + 0.5, (box, head)


@pytest.mark.parametrize("viewport", ["phone"])
def test_the_paper_sign_in_sheet_is_readable_on_a_phone(app, page, lw):
    with app.app_context():
        from webapp.checkin.models import CheckinPoint
        from webapp.extensions import db

        point = db.session.query(CheckinPoint).filter_by(token=lw.checkin_token).one()
        session_id = point.occasion_id
    login(page, "trainer")
    page.goto(f"/sessions/{session_id}/sheet")
    page.screens.shot("sign-in-sheet")
    assert page.evaluate(UNREACHABLE_SCROLLERS) == []
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
