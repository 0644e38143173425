"""Every page's ids are unique and every label points at a field of the page: a repeated id
makes a label focus the wrong field (the evidence page's two "date" fields did), and screen
readers read the wrong name. Crawls every GET page each role may open, with real records."""

from collections import Counter
from html.parser import HTMLParser

from flask import url_for

from tests.factories import PASSWORD, make_person
from tests.test_form_fuzz import _args, _role_for
from tests.test_route_roles import USERS, samples  # noqa: F401 — the records every route needs
from webapp.extensions import db
from webapp.permissions import Role
from webapp.scheduling.models import CourseClass, Enrolment, EnrolmentStatus
from webapp.timeutil import utcnow


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.labels: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids[a["id"]] += 1
        if tag == "label" and a.get("for"):
            self.labels.append(a["for"])


def check_ids(html: str) -> list[str]:
    """What is wrong with the page's ids: repeated ones, labels for no id."""
    parser = _Ids()
    parser.feed(html)
    problems = [f"id {i!r} × {n}" for i, n in parser.ids.items() if n > 1]
    return problems + [f"label for missing {f!r}" for f in parser.labels if f not in parser.ids]


def test_check_ids_finds_what_it_looks_for():
    assert check_ids('<input id="date"><input id="date">') == ["id 'date' × 2"]
    assert check_ids('<label for="x">X</label><input id="y">') == ["label for missing 'x'"]
    assert check_ids('<label for="y">Y</label><input id="y">') == []


def _urls(app, samples, role) -> list[str]:  # noqa: F811
    with app.test_request_context():
        return sorted(
            url_for(rule.endpoint, **_args(rule, samples))
            for rule in app.url_map.iter_rules()
            if "GET" in rule.methods
            and rule.endpoint != "static"
            and _role_for(app.view_functions[rule.endpoint].allowed_roles) == role
        )


def test_every_page_has_unique_ids_and_labels_that_point_at_a_field(
    app,
    samples,  # noqa: F811
    actions,
):
    with app.app_context():
        course_class = db.session.get(CourseClass, samples["class_id"])
        samples = samples | {"public_token": course_class.public_token}
        # Two learners, so that lists and card sheets repeat whatever they repeat per person.
        second = make_person(course_class.village, "Nguyễn Thị Thứ Hai", 1961)
        db.session.add(
            Enrolment(
                course_class=course_class,
                person=second,
                status=EnrolmentStatus.ENROLLED,
                since=utcnow(),
            )
        )
        db.session.commit()
    problems, crawled = {}, 0
    for role in (None, Role.ADMIN, Role.ORGANISER, Role.TRAINER, Role.VILLAGE_LEAD, Role.MENTOR):
        if role is not None:
            actions.login(USERS[role], PASSWORD)
        for url in _urls(app, samples, role):
            response = actions.client.get(url)
            if response.mimetype != "text/html":
                continue
            crawled += 1
            found = check_ids(response.get_data(as_text=True))
            if found:
                problems[f"{role} {url}"] = found
    assert crawled > 60
    assert not problems, problems
