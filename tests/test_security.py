"""CSRF, cookies, security headers and caching, health check, language switch, secret key."""

import os
import stat

import pytest

from tests import test_route_roles
from webapp import create_app
from webapp.accounts.models import User
from webapp.config import instance_secret
from webapp.extensions import db

samples = test_route_roles.samples  # the fixture: real records for every URL argument


def test_healthz_does_a_database_round_trip(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_post_without_csrf_token_is_refused(client, world):
    response = client.post(
        "/auth/login", data={"username": "organiser", "password": "password-123"}
    )
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)
    people = client.get("/people")  # nobody was signed in
    assert people.status_code == 302 and people.headers["Location"].startswith("/auth/login")


def test_logged_in_post_without_token_is_refused_and_writes_nothing(actions, world, app):
    actions.login("organiser")
    response = actions.client.post(
        "/people/new",
        data={
            "full_name": "Lê Văn Tám",
            "birth_year": "1950",
            "village_id": world.village_ids[0],
            "target_group": "citizen",
        },
    )
    assert response.status_code == 400
    assert "Lê Văn Tám" not in actions.client.get("/people").get_data(as_text=True)


def test_htmx_requests_may_send_the_token_in_a_header(actions, world):
    token = actions.csrf_token()
    response = actions.client.post(
        "/auth/login",
        data={"username": "organiser", "password": "password-123"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status_code == 302


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_flags(actions, world):
    response = actions.login("organiser")
    cookie = response.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_https_deployments_get_secure_cookies_and_hsts(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "BASE_URL": "https://lopso.example.vn",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    with app.test_client() as client:
        assert "max-age" in client.get("/").headers["Strict-Transport-Security"]


def test_secret_key_is_generated_once_and_private(tmp_path):
    first = instance_secret(tmp_path)
    assert len(first) >= 64
    assert instance_secret(tmp_path) == first
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_login_does_not_redirect_off_site(actions, world):
    token = actions.csrf_token()
    response = actions.client.post(
        "/auth/login?next=https://evil.example/steal",
        data={"username": "organiser", "password": "password-123", "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_wrong_password_gives_generic_error_and_keeps_user_name(actions, world):
    response = actions.post("/auth/login", {"username": "organiser", "password": "nope-nope"})
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html
    assert 'value="organiser"' in html


def test_language_switch_to_english_and_back(actions):
    page = actions.client.get("/")
    assert 'lang="vi"' in page.get_data(as_text=True)
    response = actions.post("/language", {"lang": "en", "next": "/"})
    assert response.status_code == 302
    assert 'lang="en"' in actions.client.get("/").get_data(as_text=True)
    actions.post("/language", {"lang": "vi", "next": "/"})
    assert 'lang="vi"' in actions.client.get("/").get_data(as_text=True)


def test_unknown_language_is_ignored(actions):
    actions.post("/language", {"lang": "xx", "next": "/"})
    assert 'lang="vi"' in actions.client.get("/").get_data(as_text=True)


def test_a_post_without_csrf_token_is_refused_with_a_way_back(app, client, world):
    response = client.post(
        "/people/new",
        data={"full_name": "Nguyễn Văn Giả"},
        headers={"Referer": "http://localhost/people/new"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Biểu mẫu đã hết hạn" in html and 'href="/people/new"' in html


def test_wtforms_messages_are_in_vietnamese(actions, world):
    actions.login("organiser")
    response = actions.post(
        "/people/new",
        {"full_name": "Lê Văn Số", "birth_year": "19x", "village_id": "abc", "target_group": "x"},
        token_from="/people/new",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Not a valid" not in html and "Invalid Choice" not in html
    assert "Hãy nhập một số nguyên" in html or "Hãy nhập năm sinh" in html


def test_passwords_are_not_trimmed_and_notes_keep_their_lines(app):
    from werkzeug.datastructures import MultiDict
    from wtforms import PasswordField, TextAreaField

    from webapp.forms import BaseForm

    class Form(BaseForm):
        class Meta:
            csrf = False

        password = PasswordField()
        note = TextAreaField()

    with app.test_request_context():
        form = Form(MultiDict({"password": "  ab  cd ", "note": "Dòng một  \r\n  Dòng hai"}))
        assert form.password.data == "  ab  cd "
        assert form.note.data == "Dòng một\nDòng hai"


def test_behind_a_proxy_the_client_address_comes_from_its_headers(app):
    from flask import request

    from webapp import create_app
    from webapp.extensions import db

    seen = []
    for count in (0, 1):
        proxied = create_app(dict(app.config, PROXY_COUNT=count))
        proxied.before_request(lambda: seen.append((request.remote_addr, request.scheme)))
        proxied.test_client().get(
            "/healthz",
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )
        with proxied.app_context():
            db.engine.dispose()  # this app's own connection pool
    assert seen == [("127.0.0.1", "http"), ("203.0.113.9", "https")]


# --- caching: nothing of a signed-in user, or of a learner reached by a token, is kept -------


def _get_urls(app, samples):
    """Every GET endpoint of the app (public ones too), with real arguments."""
    from flask import url_for

    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint != "static" and "GET" in rule.methods:
                args = {arg: samples.get(arg, "x") for arg in rule.arguments}  # code: a junk one
                yield rule.endpoint, url_for(rule.endpoint, **args)


@pytest.mark.parametrize("role", ["admin", "trainer", "lead"])  # every endpoint, and refusals
def test_every_response_to_a_signed_in_user_is_no_store(app, samples, actions, role):
    actions.login(role)
    checked = set()
    for endpoint, url in _get_urls(app, samples):
        for headers in ({}, {"HX-Request": "true"}):
            response = actions.client.get(url, headers=headers)
            assert response.headers.get("Cache-Control") == "no-store", (endpoint, url)
            assert "Cookie" in response.vary, (endpoint, url)
        checked.add(endpoint)
    assert len(checked) > 60
    # refusals and re-rendered forms too
    response = actions.post("/people/new", {"full_name": ""}, token_from="/people")
    assert response.headers["Cache-Control"] == "no-store"


def test_after_sign_out_back_cannot_show_a_personal_page_from_the_cache(app, world, actions):
    actions.login("organiser")
    page = actions.client.get("/people")
    assert "no-store" in page.headers["Cache-Control"]
    actions.logout()
    again = actions.client.get("/people")
    assert again.status_code == 302 and again.headers["Location"].startswith("/auth/login")


@pytest.fixture
def public_urls(app, samples):
    from webapp.scheduling.models import CourseClass

    with app.app_context():
        course_class = db.session.get(CourseClass, samples["class_id"])
        trainer = db.session.get(User, samples["user_id"])
        trainer.calendar_token = "trainer-feed-token"
        db.session.commit()
        token = course_class.public_token
    return {
        "/": None,
        "/auth/login": None,
        "/lich": None,
        f"/lich?village={samples['village_id']}": None,
        f"/lop/{token}": None,
        f"/lich/{samples['village_id']}.ics": "public, max-age=900",
        f"/lop/{token}.ics": "public, max-age=900",
        "/calendar/trainer-feed-token.ics": "private, max-age=900",
        "/static/css/app.css": "no-cache",
    }


def test_public_pages_keep_their_caching_for_visitors(app, public_urls, client):
    for url, expected in public_urls.items():
        with client.get(url) as response:
            assert response.status_code == 200, url
            assert response.headers.get("Cache-Control") == expected, url


@pytest.mark.parametrize(
    "url",
    ["/c", "/c/{token}", "/p/{code}", "/hoc", "/v/{verify}", "/v/unknown-code"],
)
def test_learner_pages_reached_by_a_token_are_never_stored(app, samples, client, url):
    from webapp.people.models import Person
    from webapp.scheduling.models import CourseClass

    with app.app_context():
        person = db.session.get(Person, samples["person_id"])
        course_class = db.session.get(CourseClass, samples["class_id"])
        values = {
            "token": course_class.public_token,
            "code": getattr(person, "learner_code", None) or "x",
            "verify": "sample-verify",
        }
    response = client.get(url.format(**values))
    assert "no-store" in response.headers["Cache-Control"], url
    assert "Cookie" in response.vary


def test_every_public_endpoint_is_either_a_public_page_or_a_token_page(app):
    from webapp.permissions import PUBLIC
    from webapp.security import PUBLIC_PAGES, TOKEN_PAGES

    public = {e for e, roles in test_route_roles.ROLE_TABLE.items() if roles == PUBLIC}
    assert not PUBLIC_PAGES & TOKEN_PAGES
    assert public == PUBLIC_PAGES | TOKEN_PAGES, "a new public page: may browsers keep it?"


def test_static_files_keep_their_caching_for_signed_in_users(app, world, actions):
    actions.login("organiser")
    with actions.client.get("/static/css/app.css") as response:
        assert response.headers["Cache-Control"] == "no-cache"
