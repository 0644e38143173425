"""Every form, fed junk: never a 500, never half-written.

Every GET page of ``app.url_map`` is opened (as the role the role table lets in) and every
``<form method="post">`` on it is collected with the values the page fills in. Then, for
each POST endpoint, each field in turn gets each value of a table of junk (empty, 10,000
characters, NUL, impossible dates and times, negative, huge and non-finite numbers…) while
the others keep the page's values. The answer must not be a 5xx; when it is a refusal (4xx)
or the form shown again with its errors, no table has gained or lost a row.
"""

import time
from collections import Counter
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from flask import url_for
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from tests.factories import PASSWORD
from tests.test_route_roles import USERS, samples  # noqa: F401 — the records every route needs
from webapp.extensions import db
from webapp.permissions import PUBLIC, Role
from webapp.scheduling.models import CourseClass

#: Put into every field of a form at once: each field's parsing and validators see each value.
JUNK = [
    "",
    "x" * 10_000,
    "\x00",
    "a\x00b",
    "31/02/2025",
    "2025-13-01",
    "29/02/2023",
    "25:99",
    "99999999999999999999",
    "2147483648",
    "1500",
    "-1",
    "1e309",
    "NaN",
    "-0,5",
]
#: Put into one field while the others keep the page's (valid) values: what passes the
#: validators reaches the service and the database (overflows, missing values, far dates).
ONE_TEXT = [
    "",
    "x" * 10_000,
    "99999999999999999999",
    "2147483648",
    "-1",
    "NaN",
    "01/01/0001",
    "31/12/9999",
]
ONE_CHOICE = ["", "2147483648", "99999999999999999999"]
#: Tables a refused request may still write to: rate limits and log-in backoff.
COUNTED_ASIDE = {"backoffs", "throttles", "checkin_points", "certificate_prints"}
#: Endpoints that end or change the fuzzing session itself, or the records later ones use.
LAST = ("revoke", "cancel", "withdraw", "reject", "confirm", "disable", "sign_out", "password")


class _Forms(HTMLParser):
    """The POST forms of a page: action and (name, value) pairs a browser would send."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url, self.forms = page_url, []
        self._form = self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            action = urlsplit(urljoin(self.page_url, a.get("action") or self.page_url)).path
            self._form = {
                "action": action,
                "fields": [],
                "names": set(),
                "choices": set(),
                "button": None,
            }
            self.forms.append(self._form)
        if self._form is None or not a.get("name"):
            return
        name, kind = a["name"], (a.get("type") or "text").lower()
        if tag == "input" and kind in ("submit", "image", "button"):
            self._form["button"] = self._form["button"] or (name, a.get("value", ""))
        elif tag == "input" and kind == "file":
            self._form["names"].add(name)
        elif tag == "input" and kind in ("checkbox", "radio", "hidden"):
            self._form["names"].add(name)
            self._form["choices"].add(name)
            if kind == "hidden":
                self._form["fields"].append((name, a.get("value", "")))
            elif "checked" in a:
                self._form["fields"].append((name, a.get("value", "on")))
        elif tag == "input":
            self._form["names"].add(name)
            self._form["fields"].append((name, a.get("value", "")))
        elif tag == "button" and kind == "submit":
            self._form["button"] = self._form["button"] or (name, a.get("value", ""))
        elif tag == "select":
            self._form["names"].add(name)
            self._form["choices"].add(name)
            self._select = [name, None, False]  # name, first option, one was selected
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select[1] = value if self._select[1] is None else self._select[1]
            if "selected" in a:
                self._form["fields"].append((self._select[0], value))
                self._select[2] = True
        elif tag == "textarea":
            self._form["names"].add(name)
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            name, first, chosen = self._select
            if not chosen and first is not None and self._form is not None:
                self._form["fields"].append((name, first))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form["fields"].append(tuple(self._textarea))
            self._textarea = None


def _role_for(roles) -> Role | None:
    """Who fuzzes an endpoint: a visitor for public ones, else the organiser when allowed."""
    if roles == PUBLIC:
        return None
    for role in (Role.ORGANISER, Role.TRAINER, Role.VILLAGE_LEAD, Role.MENTOR):
        if role in roles:
            return role
    return Role.ADMIN


def _args(rule, samples) -> dict:  # noqa: F811
    values = samples | {"decision": "confirm"}
    if rule.endpoint == "signup.class_page":
        values["token"] = samples["public_token"]
    return {arg: values.get(arg, 1) for arg in rule.arguments}


def _endpoints(app, samples):  # noqa: F811
    """(role, url, has GET) of every POST endpoint, the ones that change sample records last."""
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods or rule.endpoint in ("accounts.logout",):
                continue
            role = _role_for(app.view_functions[rule.endpoint].allowed_roles)
            url = url_for(rule.endpoint, **_args(rule, samples))
            found.append((any(w in rule.endpoint for w in LAST), role, rule.endpoint, url, rule))
    return sorted(found, key=lambda f: (f[1] is not None, f[0], f[2]))


def _counts(app) -> tuple:
    tables = [t.name for t in db.metadata.sorted_tables if t.name not in COUNTED_ASIDE]
    sql = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{t}")' for t in tables)
    with app.app_context():
        values = db.session.execute(text(sql)).one()
        db.session.remove()
    return dict(zip(tables, values, strict=True))


def _pages(app, client, samples, role):  # noqa: F811
    """Every form on every GET page the role may open: {action path: [form, …]}."""
    forms: dict[str, list] = {}
    with app.test_request_context():
        urls = [
            url_for(rule.endpoint, **_args(rule, samples))
            for rule in app.url_map.iter_rules()
            if "GET" in rule.methods
            and rule.endpoint != "static"
            and _role_for(app.view_functions[rule.endpoint].allowed_roles) == role
        ]
        if role == Role.ORGANISER:  # the form to enrol someone is on the search results
            urls.append(url_for("enrolment.manage", class_id=samples["class_id"], q="Trần"))
    for url in urls:
        response = client.get(url)
        if response.mimetype == "text/html":
            parser = _Forms(url)
            parser.feed(response.get_data(as_text=True))
            for form in parser.forms:
                same = forms.setdefault(form["action"], [])
                if all(f["names"] != form["names"] for f in same):  # one per kind of form
                    same.append(form)
    return forms


def test_every_form_survives_junk(app, samples, actions):  # noqa: F811
    started = time.perf_counter()
    with app.app_context():
        samples = samples | {
            "public_token": db.session.get(CourseClass, samples["class_id"]).public_token
        }
    endpoints = _endpoints(app, samples)
    fuzzed, unreached, posts, statuses = set(), [], 0, Counter()
    for role in [None, *sorted({e[1] for e in endpoints if e[1] is not None})]:
        if role is not None:
            actions.login(USERS[role], PASSWORD)
        forms = _pages(app, actions.client, samples, role)
        for _, who, endpoint, url, _rule in endpoints:
            if who != role:
                continue
            targets = forms.get(urlsplit(url).path, [])
            if not targets:
                unreached.append(endpoint)
                continue
            for form in targets:
                base = MultiDict(form["fields"])
                if form["button"]:
                    base.add(*form["button"])
                names = sorted(form["names"] - {"csrf_token"})
                tries = [(names, junk) for junk in JUNK] + [
                    ([name], junk)
                    for name in names
                    for junk in (ONE_CHOICE if name in form["choices"] else ONE_TEXT)
                ]
                for fields, junk in tries:
                    data = base.copy()
                    for name in fields:
                        data.setlist(name, [junk])
                    before = _counts(app)
                    response = actions.client.post(url, data=data)
                    posts += 1
                    status = response.status_code
                    statuses[status] += 1
                    assert status < 500, (endpoint, url, fields[:3], junk[:20], status)
                    if status >= 400 or b'class="error-summary"' in response.data:
                        after = _counts(app)
                        changed = {t for t in before if before[t] != after[t]}
                        assert not changed, (endpoint, fields[:3], junk[:20], status, changed)
                fuzzed.add(endpoint)
    elapsed = time.perf_counter() - started
    print(
        f"{len(fuzzed)} endpoints, {posts} posts, {elapsed:.1f} s, {statuses}; no form found:",
        unreached,
    )
    assert statuses[302] > 50 and statuses[422] + statuses[400] > 500  # reached the services
    assert len(fuzzed) >= 30, unreached


@pytest.mark.parametrize(
    "hours",
    ["1500", "-1", "1e309", "NaN", "inf", "99999999999999999999", "1000,5", "-0,1"],
)
def test_certificate_rule_hours_out_of_range_are_refused(app, samples, actions, hours):  # noqa: F811
    actions.login("organiser")
    page = actions.client.get("/framework/rules")
    parser = _Forms("/framework/rules")
    parser.feed(page.get_data(as_text=True))
    [form] = [f for f in parser.forms if f["action"] == "/framework/rules"]
    data = MultiDict(form["fields"])
    names = [n for n in form["names"] if n.endswith("min_hours")]
    assert names
    for name in names:
        data.setlist(name, [hours])
    data.setlist("note", ["Thử giờ tối thiểu"])
    before = _counts(app)
    response = actions.client.post("/framework/rules", data=data)
    assert response.status_code == 422, response.status_code
    assert _counts(app) == before


@pytest.mark.parametrize("typed", ["NaN", "nan", "inf", "-Infinity", "1e309", "1,5e999"])
def test_decimal_fields_refuse_numbers_that_are_not_finite(app, typed):
    """float() takes them, and NaN passes every NumberRange (all comparisons are false)."""
    from wtforms.validators import InputRequired, NumberRange

    from webapp.forms import BaseForm
    from webapp.scheduling.forms import DecimalCommaField

    class HoursForm(BaseForm):
        class Meta:
            csrf = False

        hours = DecimalCommaField(validators=[InputRequired(), NumberRange(0, 1000)])

    with app.test_request_context("/", method="POST", data={"hours": typed}):
        form = HoursForm()
        assert not form.validate()
        assert form.hours.data is None
    with app.test_request_context("/", method="POST", data={"hours": "1,5"}):
        assert HoursForm().validate()


@pytest.mark.parametrize("typed", ["01/01/0001", "31/12/1899", "01/01/2101", "31/12/9999"])
def test_dates_far_outside_any_class_are_refused_by_the_field(app, typed):
    """01/01/0001 at 00:02 Vietnam time is before year 1 in UTC: the date field refuses such
    years itself, so no form can reach a conversion that overflows (seen as a 500 at 00:02)."""
    from webapp.scheduling.forms import SessionForm

    data = {"day": typed, "start": "00:02", "end": "01:00"}
    with app.test_request_context(method="POST", data=data):
        form = SessionForm(meta={"csrf": False})
        form.validate()
        assert form.day.errors and form.day.data is None
