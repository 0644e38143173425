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


def _fail(name, address, now, password="bad-password"):
    """One try that must fail; its error."""
    with pytest.raises(DomainError) as error:
        services.authenticate(name, password, address=address, now=now)
    return error.value


def _fail_many(name, address, now, times):
    """``times`` counted failures from ``address``, waiting out each backoff; the time after."""
    for _ in range(times):
        error = _fail(name, address, now)
        if error.code == "login_throttled":
            now += timedelta(seconds=error.params["retry_after"])
            error = _fail(name, address, now)
        assert error.code == "login_failed"
    return now


@pytest.mark.parametrize("failures", [5, 6, 12, 40])
@pytest.mark.parametrize(
    ("attacker", "owner"),
    [
        ("1.2.3.4", "9.9.9.9"),
        ("2001:db8:aa:1::1", "2001:db8:aa:2::1"),  # another /64
        ("1.2.3.4", "2001:db8::7"),
    ],
)
def test_failures_from_one_address_do_not_lock_the_owner_out_elsewhere(
    ctx, failures, attacker, owner
):
    now = _fail_many("trainer", attacker, NOW, failures)
    assert services.authenticate("trainer", PASSWORD, address=owner, now=now).username == (
        "trainer"
    )


def test_the_attackers_address_waits_even_with_the_right_password(ctx, app):
    _fail_many("trainer", "1.2.3.4", NOW, app.config["LOGIN_MAX_FAILURES"])
    error = _fail("trainer", "1.2.3.4", NOW, password=PASSWORD)
    assert (error.code, error.status) == ("login_throttled", 429)


def test_backoff_doubles_up_to_its_maximum_and_throttled_tries_are_not_counted(ctx, app):
    base, most = app.config["LOGIN_BACKOFF_SECONDS"], app.config["LOGIN_BACKOFF_MAX_SECONDS"]
    now = _fail_many("trainer", "1.2.3.4", NOW, app.config["LOGIN_MAX_FAILURES"] - 1)
    assert _fail("trainer", "1.2.3.4", now).code == "login_failed"  # the free tries are used up
    waits = []
    for _ in range(8):
        error = _fail("trainer", "1.2.3.4", now)
        assert error.code == "login_throttled"
        assert _fail("trainer", "1.2.3.4", now).params["retry_after"] == error.params["retry_after"]
        waits.append(error.params["retry_after"])
        now += timedelta(seconds=error.params["retry_after"])
        assert _fail("trainer", "1.2.3.4", now).code == "login_failed"
    assert waits == [min(most, base * 2**i) for i in range(8)]
    assert waits[-1] == most


def test_a_wait_half_over_tells_the_rest(ctx, app):
    now = _fail_many("trainer", "1.2.3.4", NOW, app.config["LOGIN_MAX_FAILURES"])
    later = now + timedelta(seconds=10)
    assert _fail("trainer", "1.2.3.4", later).params["retry_after"] == (
        app.config["LOGIN_BACKOFF_SECONDS"] - 10
    )


def test_a_successful_log_in_ends_the_streak_of_that_address(ctx, app):
    limit = app.config["LOGIN_MAX_FAILURES"]
    _fail_many("trainer", "1.2.3.4", NOW, limit - 1)
    services.authenticate("trainer", PASSWORD, address="1.2.3.4", now=NOW)
    _fail_many("trainer", "1.2.3.4", NOW, limit - 1)
    assert services.authenticate("trainer", PASSWORD, address="1.2.3.4", now=NOW)


def test_a_streak_is_forgotten_after_a_quiet_day(ctx, app):
    now = _fail_many("trainer", "1.2.3.4", NOW, app.config["LOGIN_MAX_FAILURES"] + 3)
    assert _fail("trainer", "1.2.3.4", now).code == "login_throttled"
    later = now + timedelta(days=1, seconds=1)
    assert services.authenticate("trainer", PASSWORD, address="1.2.3.4", now=later)


@pytest.mark.parametrize(
    "addresses",
    [
        ["5.5.5.5"],
        # every address of one IPv6 /64 is one client
        [f"2001:db8:5:5::{i:x}" for i in range(1, 200)],
    ],
)
def test_one_address_spraying_many_names_is_stopped(ctx, app, addresses):
    limit = app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    for i in range(limit):
        assert _fail(f"name{i}", addresses[i % len(addresses)], NOW).code == "login_failed"
    # a new name from the same client waits, even with the right password...
    error = _fail("trainer", addresses[-1], NOW, password=PASSWORD)
    assert error.code == "login_throttled"
    # ...but the owner elsewhere signs in
    assert services.authenticate("trainer", PASSWORD, address="7.7.7.7", now=NOW)


def test_a_distributed_guess_of_one_name_is_stopped(ctx, app):
    limit = app.config["LOGIN_MAX_FAILURES_PER_NAME"]
    for i in range(limit):
        assert _fail("trainer", f"10.0.{i // 250}.{i % 250}", NOW).code == "login_failed"
    error = _fail("trainer", "192.0.2.1", NOW, password=PASSWORD)
    assert error.code == "login_throttled"
    assert 0 < error.params["retry_after"] <= app.config["LOGIN_NAME_WINDOW_SECONDS"]
    later = NOW + timedelta(seconds=error.params["retry_after"])
    assert services.authenticate("trainer", PASSWORD, address="192.0.2.1", now=later)


def test_one_address_alone_cannot_reach_the_limit_of_a_name_in_its_window(ctx, app):
    """Waiting out every backoff, one address fails far fewer times in the per-name window
    than the per-name limit (so only a distributed guess can lock the name)."""
    window = timedelta(seconds=app.config["LOGIN_NAME_WINDOW_SECONDS"])
    now, failures = NOW, 0
    while now < NOW + window:
        error = _fail("trainer", "1.2.3.4", now)
        if error.code == "login_throttled":
            now += timedelta(seconds=error.params["retry_after"])
        else:
            failures += 1
    assert failures < app.config["LOGIN_MAX_FAILURES_PER_NAME"] / 4


@pytest.mark.parametrize("name", ["trainer", "ghost"])
@pytest.mark.parametrize(("lang", "words"), [("vi", "Vui lòng chờ"), ("en", "Please wait")])
def test_the_throttle_message_tells_the_wait_and_not_whether_the_name_exists(
    ctx, app, name, lang, words
):
    from flask_babel import force_locale

    now = _fail_many(name, "1.2.3.4", NOW, app.config["LOGIN_MAX_FAILURES"])
    with force_locale(lang):
        error = _fail(name, "1.2.3.4", now)
        assert error.code == "login_throttled"
        assert words in error.message and "30" in error.message
        assert name not in error.message
        later = _fail_many(name, "1.2.3.4", now + timedelta(seconds=30), 3)
        assert "4" in _fail(name, "1.2.3.4", later).message  # 240 seconds: 4 minutes


def test_reset_password_clears_the_throttle_of_the_name(ctx, app):
    now = _fail_many("trainer", "1.2.3.4", NOW, app.config["LOGIN_MAX_FAILURES"])
    services.reset_password(
        actor=user(ctx, "organiser"), user=user(ctx, "trainer"), new_password="brand-new-1", now=now
    )
    assert services.authenticate("trainer", "brand-new-1", address="1.2.3.4", now=now)


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


def test_login_records_time_and_address_ipv6_by_its_64(ctx):
    found = services.authenticate("trainer", PASSWORD, address="2001:db8:1:2:3:4:5:6", now=NOW)
    assert (found.last_login_at, found.last_login_address) == (NOW, "2001:db8:1:2::/64")


@pytest.mark.parametrize(
    "change",
    [
        lambda ctx: services.sign_out_everywhere(
            actor=user(ctx, "trainer"), user=user(ctx, "trainer"), now=NOW
        ),
        lambda ctx: services.sign_out_everywhere(
            actor=user(ctx, "organiser"), user=user(ctx, "trainer"), now=NOW
        ),
        lambda ctx: services.reset_password(
            actor=None, user=user(ctx, "trainer"), new_password="brand-new-1", now=NOW
        ),
        lambda ctx: services.disable_user(
            actor=user(ctx, "admin"), user=user(ctx, "trainer"), now=NOW
        ),
    ],
    ids=["own sign-out", "by a manager", "new password", "disabled"],
)
def test_ending_sessions_changes_the_session_id(ctx, change):
    before = user(ctx, "trainer").get_id()
    change(ctx)
    assert user(ctx, "trainer").get_id() != before


def test_disable_records_who_when_why_and_refuses_log_in(ctx):
    trainer = user(ctx, "trainer")
    services.disable_user(actor=user(ctx, "organiser"), user=trainer, now=NOW, reason=" left ")
    assert (trainer.active, trainer.disabled_at, trainer.disabled_reason) == (False, NOW, "left")
    assert trainer.disabled_by_id == ctx.users["organiser"]
    assert _fail("trainer", "1.2.3.4", NOW, password=PASSWORD).code == "login_failed"
    services.enable_user(actor=user(ctx, "organiser"), user=trainer, now=NOW)
    assert (trainer.active, trainer.disabled_at, trainer.disabled_by_id) == (True, None, None)
    assert services.authenticate("trainer", PASSWORD, address="1.2.3.4", now=NOW) == trainer


@pytest.mark.parametrize(
    ("actor", "target", "code"),
    [
        ("organiser", "organiser", "not_allowed"),  # organisers manage field roles only
        ("admin", "admin", "disable_self"),
        ("organiser", "admin", "not_allowed"),
        ("other_organiser", "trainer", "not_allowed"),  # another commune
        ("trainer", "mentor", "not_allowed"),
        (None, "admin", "last_admin"),  # the command line
    ],
)
def test_who_may_disable_whom(ctx, actor, target, code):
    with pytest.raises(DomainError) as error:
        services.disable_user(
            actor=user(ctx, actor) if actor else None, user=user(ctx, target), now=NOW
        )
    assert error.value.code == code
    assert user(ctx, target).active


def test_an_admin_may_be_disabled_while_another_remains(ctx):
    from tests.factories import make_user

    second = make_user("admin2", Role.ADMIN, None, province_wide=True)
    services.disable_user(actor=second, user=user(ctx, "admin"), now=NOW)
    with pytest.raises(DomainError) as error:
        services.disable_user(actor=None, user=second, now=NOW)
    assert error.value.code == "last_admin"


def test_disabling_twice_and_enabling_an_active_account_are_refused(ctx):
    trainer, admin = user(ctx, "trainer"), user(ctx, "admin")
    with pytest.raises(DomainError) as error:
        services.enable_user(actor=admin, user=trainer, now=NOW)
    assert error.value.code == "already_active"
    services.disable_user(actor=admin, user=trainer, now=NOW)
    with pytest.raises(DomainError) as error:
        services.disable_user(actor=admin, user=trainer, now=NOW)
    assert error.value.code == "already_disabled"


def test_sign_out_of_another_account_needs_to_manage_it(ctx):
    with pytest.raises(DomainError) as error:
        services.sign_out_everywhere(
            actor=user(ctx, "other_organiser"), user=user(ctx, "trainer"), now=NOW
        )
    assert error.value.code == "not_allowed"
