"""Sessions end on the server: a copied cookie stops working after sign-out, a new password,
disabling or "sign out everywhere"; disabled accounts cannot sign in; the commands; the
log-in throttle seen from two addresses."""

import pytest
from flask_login.utils import encode_cookie

from tests.conftest import Actions
from tests.factories import PASSWORD
from webapp.accounts.models import User
from webapp.extensions import db

PERSONAL = "/people"  # any page for signed-in staff only


def _thief(app, victim_client):
    """A second browser holding a copy of the victim's session cookie."""
    thief = app.test_client()
    cookie = victim_client.get_cookie("session")
    assert cookie is not None
    thief.set_cookie("session", cookie.value)
    assert thief.get(PERSONAL).status_code == 200  # the copy works before
    return thief


def _signed_out(client) -> bool:
    response = client.get(PERSONAL)
    return response.status_code == 302 and "/auth/login" in response.headers["Location"]


def _as(app, username) -> Actions:
    actions = Actions(app.test_client())
    actions.login(username)
    return actions


def _user_id(app, username) -> int:
    with app.app_context():
        return db.session.query(User.id).filter_by(username=username).scalar()


def _own_logout(app, victim):
    victim.logout()


def _manager_resets_password(app, victim):
    manager = _as(app, "organiser")
    response = manager.post(
        f"/users/{_user_id(app, 'trainer')}/password",
        {"password": "brand-new-pw", "confirm": "brand-new-pw"},
    )
    assert response.status_code == 302


def _manager_disables(app, victim):
    manager = _as(app, "organiser")
    response = manager.post(f"/users/{_user_id(app, 'trainer')}/disable", {"reason": "left"})
    assert response.status_code == 302


def _manager_signs_out(app, victim):
    manager = _as(app, "admin")
    response = manager.post(f"/users/{_user_id(app, 'trainer')}/sign-out")
    assert response.status_code == 302


def _cli(*args):
    def run(app, victim):
        result = app.test_cli_runner().invoke(args=[*args, "trainer"])
        assert result.exit_code == 0, result.output

    return run


def _cli_reset(app, victim):
    from webapp.accounts import services
    from webapp.timeutil import utcnow

    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(username="trainer"))
        services.reset_password(actor=None, user=user, new_password="brand-new-pw", now=utcnow())
        db.session.commit()


@pytest.mark.parametrize(
    "event",
    [
        _own_logout,
        _manager_resets_password,
        _manager_disables,
        _manager_signs_out,
        _cli("disable-user"),
        _cli("sign-out-user"),
        _cli_reset,
    ],
    ids=[
        "log-out",
        "password reset",
        "disabled",
        "signed out by a manager",
        "flask disable-user",
        "flask sign-out-user",
        "reset by a service call",
    ],
)
def test_a_copied_session_cookie_is_refused_afterwards(app, world, event):
    victim = _as(app, "trainer")
    thief = _thief(app, victim.client)
    event(app, victim)
    assert _signed_out(thief)
    assert _signed_out(victim.client)


def test_after_sign_out_everywhere_the_user_signs_in_again(app, world):
    victim = _as(app, "trainer")
    victim.logout()
    victim.login("trainer")
    assert victim.client.get(PERSONAL).status_code == 200


def test_sign_out_ends_the_users_other_devices_too(app, world):
    phone, computer = _as(app, "trainer"), _as(app, "trainer")
    computer.logout()
    assert _signed_out(phone.client)


@pytest.mark.parametrize("value", ["3", "3:0:0", "x:0", "3:-1", "3:99", "99999999999999999999:0"])
def test_forged_or_old_session_ids_load_nobody(app, world, value):
    with app.test_client() as client:
        with client.session_transaction() as session:
            session["_user_id"] = value.replace("3", str(world.users["trainer"]), 1)
            session["_fresh"] = True
        assert _signed_out(client)


def test_a_remember_me_cookie_is_checked_the_same_way(app, world):
    trainer = world.users["trainer"]
    with app.test_request_context():
        current = encode_cookie(f"{trainer}:0")
        legacy = encode_cookie(str(trainer))  # before session generations
    client = app.test_client()
    client.set_cookie("remember_token", current)
    assert client.get(PERSONAL).status_code == 200  # the cookie itself is honoured...
    for cookie in (legacy, current):
        other = app.test_client()
        other.set_cookie("remember_token", cookie)
        if cookie == current:
            _own_logout(app, _as(app, "trainer"))  # ...until the user signs out
        assert _signed_out(other)


def test_a_disabled_user_cannot_sign_in_and_gets_the_wrong_password_answer(app, world, actions):
    app.test_cli_runner().invoke(args=["disable-user", "trainer", "--reason", "left"])
    disabled = actions.post("/auth/login", {"username": "trainer", "password": PASSWORD})
    wrong = Actions(app.test_client()).post(
        "/auth/login", {"username": "mentor", "password": "wrong-password"}
    )
    assert disabled.status_code == wrong.status_code == 401
    error = 'class="error-summary"'
    assert error in disabled.get_data(as_text=True)
    assert (
        disabled.get_data(as_text=True).split(error)[1][:300]
        == (wrong.get_data(as_text=True).split(error)[1][:300])
    )


def test_commands_disable_enable_and_refuse(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["disable-user", "trainer", "--reason", "left the programme"])
    assert result.exit_code == 0 and "Disabled trainer" in result.output
    with app.app_context():
        user = db.session.get(User, world.users["trainer"])
        assert (user.active, user.disabled_reason, user.disabled_by_id) == (
            False,
            "left the programme",
            None,
        )
    assert runner.invoke(args=["disable-user", "trainer"]).exit_code != 0  # already disabled
    result = runner.invoke(args=["enable-user", "TRAINER"])
    assert result.exit_code == 0 and "Enabled trainer" in result.output
    Actions(app.test_client()).login("trainer")
    for args in (["disable-user", "nobody"], ["enable-user", "nobody"], ["sign-out-user", "x"]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and "Unknown user" in result.output
    result = runner.invoke(args=["disable-user", "admin"])  # the only admin
    assert result.exit_code != 0


def test_users_page_shows_last_sign_in_and_the_actions_the_manager_may_take(app, world):
    _as(app, "trainer")  # signs in from 127.0.0.1
    manager = _as(app, "organiser")
    html = manager.client.get("/users").get_data(as_text=True)
    trainer, organiser = world.users["trainer"], world.users["organiser"]
    assert "127.0.0.1" in html
    assert f"/users/{trainer}/disable" in html and f"/users/{trainer}/sign-out" in html
    assert f"/users/{organiser}/disable" not in html  # not themself, nor another organiser
    manager.post(f"/users/{trainer}/disable", {"reason": "rời chương trình"})
    html = manager.client.get("/users").get_data(as_text=True)
    assert "Đã khóa" in html and "rời chương trình" in html and f"/users/{trainer}/enable" in html
    assert manager.post(f"/users/{trainer}/enable").status_code == 302
    Actions(app.test_client()).login("trainer")


def test_managers_act_only_on_accounts_they_manage(app, world):
    other = _as(app, "other_organiser")
    trainer = world.users["trainer"]
    for path in (
        f"/users/{trainer}/disable",
        f"/users/{trainer}/enable",
        f"/users/{trainer}/sign-out",
    ):
        assert other.post(path).status_code == 404  # another commune's account
    organiser = _as(app, "organiser")
    admin = world.users["admin"]
    assert organiser.post(f"/users/{admin}/disable").status_code == 404
    own = world.users["organiser"]
    assert organiser.post(f"/users/{own}/disable").status_code == 403
    admin_actions = _as(app, "admin")
    response = admin_actions.post(f"/users/{admin}/disable", {"reason": ""})
    assert response.status_code == 400 and "tự khóa" in response.get_data(as_text=True)
    with app.app_context():
        assert all(u.active for u in db.session.scalars(db.select(User)))


def test_a_manager_who_sets_their_own_password_stays_signed_in_here_only(app, world):
    admin, elsewhere = _as(app, "admin"), _as(app, "admin")
    response = admin.post(
        f"/users/{world.users['admin']}/password",
        {"password": "brand-new-pw", "confirm": "brand-new-pw"},
    )
    assert response.status_code == 302
    assert admin.client.get(PERSONAL).status_code == 200
    assert _signed_out(elsewhere.client)


# --- the log-in throttle, through the page --------------------------------------------------


def _login_from(app, address, password, username="trainer"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Actions(client).post("/auth/login", {"username": username, "password": password})


def test_an_attacker_address_waits_with_retry_after_and_the_owner_elsewhere_signs_in(app, world):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _login_from(app, "203.0.113.5", "wrong-password").status_code == 401
    refused = _login_from(app, "203.0.113.5", PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(app.config["LOGIN_BACKOFF_SECONDS"])
    html = refused.get_data(as_text=True)
    assert "Vui lòng chờ 30 giây" in html and "trainer" in html  # the name stays in the form
    assert _login_from(app, "198.51.100.7", PASSWORD).status_code == 302


def test_the_address_is_the_proxys_client_when_behind_a_proxy(app, world):
    from webapp import create_app

    proxied = create_app(dict(app.config, PROXY_COUNT=1))
    try:
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            client = proxied.test_client()
            client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.5"
            Actions(client).post("/auth/login", {"username": "trainer", "password": "bad-pw"})
        # every request came from the proxy (127.0.0.1), but the clients differ
        client = proxied.test_client()
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.7"
        response = Actions(client).post(
            "/auth/login", {"username": "trainer", "password": PASSWORD}
        )
        assert response.status_code == 302
        client = proxied.test_client()
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.5"
        response = Actions(client).post(
            "/auth/login", {"username": "trainer", "password": PASSWORD}
        )
        assert response.status_code == 429
    finally:
        with proxied.app_context():
            db.engine.dispose()


def test_a_distributed_guess_does_not_lock_the_owner_out_of_their_own_browser(app, world):
    """OWASP's device cookies: the per-name ceiling holds strangers' browsers only."""
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    Actions(owner).login("trainer", PASSWORD)
    Actions(owner).logout()
    assert owner.get_cookie("lopso_known") is not None
    for i in range(app.config["LOGIN_MAX_FAILURES_PER_NAME"]):  # many addresses, one name
        assert _login_from(app, f"10.30.{i // 250}.{i % 250}", "wrong-password").status_code == 401
    # A stranger's browser with the right password waits (the name is under attack)...
    assert _login_from(app, "192.0.2.99", PASSWORD).status_code == 429
    # ...a forged device cookie does not help...
    forged = app.test_client()
    forged.environ_base["REMOTE_ADDR"] = "192.0.2.98"
    forged.set_cookie("lopso_known", '["trainer"]')
    assert (
        Actions(forged)
        .post("/auth/login", {"username": "trainer", "password": PASSWORD})
        .status_code
        == 429
    )
    # ...the owner's own browser, from a new address too, signs in at once.
    owner.environ_base["REMOTE_ADDR"] = "192.0.2.1"
    response = Actions(owner).post("/auth/login", {"username": "trainer", "password": PASSWORD})
    assert response.status_code == 302
    # The device cookie proves a sign-in of this name only: another name is not helped.
    assert Actions(owner).post(
        "/auth/login", {"username": "organiser", "password": "wrong-password"}
    ).status_code in (401, 429)
