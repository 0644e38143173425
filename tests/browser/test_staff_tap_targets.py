"""The main actions of the class and session pages are tapped on phones: every one is at least
44 px tall (WCAG 2.5.5), measured in the browser on the desktop and the 360 px phone."""

from datetime import timedelta

import pytest

from tests.browser.conftest import login
from tests.factories import make_class, make_course, make_person, make_session
from webapp.extensions import db
from webapp.people.models import Village
from webapp.scheduling.enrolment import enrol
from webapp.timeutil import utcnow

pytestmark = pytest.mark.browser

MIN_HEIGHT = 44

#: What a person taps in the page's main area: buttons, links styled as buttons, the link
#: lists of a page's records, and the form controls.
TAPPABLE = "main a.button, main button, main input[type=submit], main .link-list a, main select"


@pytest.fixture
def session_ids(app, world) -> tuple[int, int]:
    from webapp.accounts.models import User

    with app.app_context():
        trainer = db.session.get(User, world.users["trainer"])
        course = make_course(world.commune_id, trainer.id)
        course_class = make_class(course, [trainer])
        session = make_session(course_class, utcnow() + timedelta(days=1))
        village = db.session.get(Village, world.village_ids[0])
        person = make_person(village, "Đinh Thị Xuân", 1958)
        enrol(actor=trainer, now=utcnow(), course_class=course_class, person=person)
        db.session.commit()
        return course_class.id, session.id


def _short_targets(page) -> list[str]:
    return page.eval_on_selector_all(
        TAPPABLE,
        """(els, min) => els
            .filter(e => e.offsetParent !== null)
            .map(e => [e.textContent.trim().slice(0, 60), e.getBoundingClientRect().height])
            .filter(([, h]) => h < min)
            .map(([t, h]) => `${t}: ${h.toFixed(1)} px`)""",
        MIN_HEIGHT,
    )


@pytest.mark.parametrize("username", ["trainer", "organiser"])
def test_the_class_and_session_actions_are_big_enough_to_tap(page, session_ids, username):
    class_id, session_id = session_ids
    login(page, username)
    page.goto(f"/classes/{class_id}")
    for name in (
        "Điểm danh của lớp này",
        "Ai đủ điều kiện nhận giấy chứng nhận",
        "Giấy chứng nhận của lớp",
    ):
        link = page.get_by_role("link", name=name)
        assert link.bounding_box()["height"] >= MIN_HEIGHT, name
    assert not _short_targets(page)
    page.screens.shot("class")
    page.goto(f"/sessions/{session_id}")
    link = page.get_by_role("link", name="Sổ điểm danh buổi học này")
    assert link.bounding_box()["height"] >= MIN_HEIGHT
    assert not _short_targets(page)
    page.screens.shot("session")
