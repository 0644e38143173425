"""Account rules, each test one rule, asserting the error code."""

from datetime import timedelta

import pytest

from tests.factories import NOW, PASSWORD
from webapp.accounts import services
from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.permissions import Role


@pytest.fixture
def ctx(app, world):
    with app.app_context():
        yield world


def user(world, key) -> User:
    return db.session.get(User, world.users[key])


def test_password_is_hashed(ctx):
    stored = user(ctx, "trainer").password_hash
    assert PASSWORD not in stored
    assert stored.startswith("pbkdf2:")


def test_correct_login_returns_user_and_records_time(ctx):
    found = services.authenticate("Trainer", PASSWORD, address="1.2.3.4", now=NOW)
    assert found.username == "trainer"
    assert found.last_login_at == NOW


@pytest.mark.parametrize(
    ("username", "password"),
    [("trainer", "wrong-password"), ("nobody", PASSWORD), ("nobody", "wrong-password")],
)
def test_unknown_user_and_wrong_password_answer_the_same(ctx, username, password):
    with pytest.raises(DomainError) as error:
        services.authenticate(username, password, address="1.2.3.4", now=NOW)
    assert error.value.code == "login_failed"
    assert error.value.status == 401
    assert error.value.message == str(services.LOGIN_FAILED)


def test_disabled_account_cannot_log_in(ctx):
    user(ctx, "trainer").active = False
    with pytest.raises(DomainError) as error:
        services.authenticate("trainer", PASSWORD, address="1.2.3.4", now=NOW)
    assert error.value.code == "login_failed"


def test_login_is_throttled_per_user_name_even_with_the_right_password(ctx, app):
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        with pytest.raises(DomainError):
            services.authenticate("trainer", "bad-password", address="1.2.3.4", now=NOW)
    with pytest.raises(DomainError) as error:
        services.authenticate("trainer", PASSWORD, address="9.9.9.9", now=NOW)
    assert error.value.code == "login_throttled"
    assert error.value.status == 429


def test_throttle_treats_unknown_names_like_known_ones(ctx, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        with pytest.raises(DomainError):
            services.authenticate("ghost", "bad-password", address="1.2.3.4", now=NOW)
    with pytest.raises(DomainError) as error:
        services.authenticate("ghost", "bad-password", address="1.2.3.4", now=NOW)
    assert error.value.code == "login_throttled"


def test_throttle_window_expires(ctx, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        with pytest.raises(DomainError):
            services.authenticate("trainer", "bad-password", address="1.2.3.4", now=NOW)
    later = NOW + timedelta(seconds=app.config["LOGIN_WINDOW_SECONDS"] + 1)
    assert services.authenticate("trainer", PASSWORD, address="1.2.3.4", now=later)


def test_throttle_per_address(ctx, app):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    try:
        for name in ("a1", "a2", "a3"):
            with pytest.raises(DomainError):
                services.authenticate(name, "bad", address="5.5.5.5", now=NOW)
        with pytest.raises(DomainError) as error:
            services.authenticate("trainer", PASSWORD, address="5.5.5.5", now=NOW)
        assert error.value.code == "login_throttled"
    finally:
        app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 30


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"username": "AB"}, "username_invalid"),
        ({"username": "trainer"}, "username_taken"),
        ({"password": "short"}, "password_too_short"),
        ({"role": "king"}, "role_invalid"),
        ({"role": Role.VILLAGE_LEAD}, "village_required"),
    ],
)
def test_create_user_refusals(ctx, kwargs, code):
    values = {
        "username": "new.user",
        "full_name": "Người Mới",
        "password": "long-enough",
        "role": Role.TRAINER,
        "commune_id": ctx.commune_id,
    } | kwargs
    with pytest.raises(DomainError) as error:
        services.create_user(actor=None, now=NOW, **values)
    assert error.value.code == code


@pytest.mark.parametrize(
    ("actor", "role", "commune", "allowed"),
    [
        ("admin", Role.ORGANISER, "mine", True),
        ("organiser", Role.TRAINER, "mine", True),
        ("organiser", Role.MENTOR, "mine", True),
        ("organiser", Role.ORGANISER, "mine", False),
        ("organiser", Role.ADMIN, "mine", False),
        ("organiser", Role.TRAINER, "other", False),
        ("trainer", Role.TRAINER, "mine", False),
    ],
)
def test_who_may_create_which_accounts(ctx, actor, role, commune, allowed):
    commune_id = ctx.commune_id if commune == "mine" else ctx.other_commune_id
    call = lambda: services.create_user(  # noqa: E731
        actor=user(ctx, actor),
        now=NOW,
        username="x.new",
        full_name="X",
        password="long-enough",
        role=role,
        commune_id=commune_id,
    )
    if allowed:
        assert call().role == role
    else:
        with pytest.raises(DomainError) as error:
            call()
        assert error.value.code == "not_allowed"
        assert error.value.status == 403


def test_reset_password_by_organiser_of_same_commune(ctx):
    trainer = user(ctx, "trainer")
    services.reset_password(
        actor=user(ctx, "organiser"), user=trainer, new_password="brand-new-1", now=NOW
    )
    assert services.authenticate("trainer", "brand-new-1", address="x", now=NOW) == trainer


def test_reset_password_refused_across_communes(ctx):
    with pytest.raises(DomainError) as error:
        services.reset_password(
            actor=user(ctx, "other_organiser"),
            user=user(ctx, "trainer"),
            new_password="brand-new-1",
            now=NOW,
        )
    assert error.value.code == "not_allowed"


def test_users_visible_to_organiser_are_their_communes(ctx):
    names = {
        u.username for u in db.session.scalars(services.users_visible_to(user(ctx, "organiser")))
    }
    assert names == {"organiser", "trainer", "mentor", "lead"}
    everyone = {
        u.username for u in db.session.scalars(services.users_visible_to(user(ctx, "admin")))
    }
    assert "other_organiser" in everyone
