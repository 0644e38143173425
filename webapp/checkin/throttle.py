"""How much a learner's phone may ask: the limits of the public check-in pages.

Two kinds of count, both in :mod:`webapp.ratelimit`'s table:

- requests, per address and per remembered phone, in ten-minute windows
  (:func:`over_limit`): beyond ``CHECKIN_MAX_PER_ADDRESS`` or ``CHECKIN_MAX_PER_DEVICE``
  the answer is 429. A check-in that records an arrival is not counted (see
  ``learner_views``).
- wrong answers (a phone number and birth year, a learner code, a session code), per address
  in ten-minute slots and per phone number and check-in point (one session)
  (:func:`count_failure`): a stranger who knows a number and tries birth years is stopped
  after a few tries for the whole session, from any number of addresses
  (:func:`guessing_guard`). One guard reads both counts with the point in one query, so they
  share one counting window: a day that turns at 03:00 local time, when no class is held (an
  evening class may run past midnight); the address's slot is part of its key.

Only these helpers commit outside ``webapp.forms.attempt``: a count must stay counted when
the work it came with is undone.
"""

from datetime import UTC, datetime, timedelta

from flask import abort, current_app, make_response, render_template, request
from flask_babel import lazy_gettext as _l

from webapp import ratelimit
from webapp.checkin.services import CheckinError
from webapp.extensions import db
from webapp.timeutil import to_local

WINDOW_SECONDS = 600
FAIL_WINDOW_SECONDS = 86_400
FAIL_DAY_TURNS = timedelta(hours=3)

TOO_MANY = _l(
    "Too many tries with these details for this session. Please ask the trainer to mark you "
    "on the class list; next time, this phone can check you in."
)


def _address() -> str:
    """The client's address; IPv6 clients by their /64 (one home or phone has all of it)."""
    return ratelimit.address_key(request.remote_addr)


# --- requests ----------------------------------------------------------------------------------


def over_limit(now: datetime, key: str | None) -> bool:
    """Count this request per address and per phone (``key``: the phone's, if it has one), in
    one statement, and say whether it is over a limit. Nothing is committed."""
    config = current_app.config
    events = [("checkin-address", _address())] + ([("checkin-device", key)] if key else [])
    hits = ratelimit.hit_many(events, now=now, window_seconds=WINDOW_SECONDS)  # one statement
    return hits[0] > config["CHECKIN_MAX_PER_ADDRESS"] or bool(
        key and hits[1] > config["CHECKIN_MAX_PER_DEVICE"]
    )


def count_request(now: datetime, key: str | None) -> None:
    """Count a request before its work, and commit the count; 429 beyond the limits."""
    if over_limit(now, key):
        db.session.commit()
        abort(429)
    db.session.commit()


def count_with_work(now: datetime, key: str | None) -> None:
    """Count this request with the rest of its work, for the caller to commit both at once
    (one round trip fewer; the counter row is locked only for the moment before the commit).
    Beyond the limits the work is undone, the request still counts (committed), and the
    answer is 429."""
    if over_limit(now, key):
        db.session.rollback()
        over_limit(now, key)
        db.session.commit()
        abort(429)


def commit_counted(now: datetime, key: str | None) -> None:
    """:func:`count_with_work`, then commit."""
    count_with_work(now, key)
    db.session.commit()


# --- wrong answers -----------------------------------------------------------------------------


def _fail_events(now: datetime, phone: str | None, token: str | None) -> list[tuple[str, str]]:
    slot = int(now.timestamp()) // WINDOW_SECONDS
    events = [("checkin-fail", f"{_address()}@{slot}")]
    if phone and token:
        events.append(("checkin-fail-phone", f"{token}:{phone}"))
    return events


def local_day(now: datetime) -> datetime:
    """``now`` shifted so that day-long counting windows turn at 03:00 local time."""
    return to_local(now).replace(tzinfo=UTC) - FAIL_DAY_TURNS


def guessing_guard(
    now: datetime, phone: str | None = None, token: str | None = None
) -> ratelimit.Guard:
    """The guard against guessing, for a query that reads its counts with its rows: it
    answers 429 (a page that tells the learner what to do instead) once this address, or this
    phone number (``phone``, canonical) at this check-in point (``token``), had too many wrong
    answers.

    Only identifying and typed codes are guarded: a learner whose phone is remembered checks
    in even when a neighbour on the same mobile-network address mistyped many times.
    """
    config = current_app.config
    events = _fail_events(now, phone, token)

    def check(failures: list[int]) -> None:
        if failures[0] >= config["CHECKIN_MAX_FAILURES_PER_ADDRESS"] or (
            len(failures) > 1 and failures[1] >= config["CHECKIN_MAX_FAILURES_PER_PHONE"]
        ):
            # Not the refusal of a wrong answer: the learner is told what to do instead.
            error = CheckinError("too_many_tries", TOO_MANY, status=429)
            page = render_template("checkin/learner_refused.html", error=error)
            abort(make_response(page, 429))

    return ratelimit.Guard(events, local_day(now), FAIL_WINDOW_SECONDS, check)


def stop_guessing(now: datetime, phone: str | None = None, token: str | None = None) -> None:
    """429 now (one query) when :func:`guessing_guard` would answer it."""
    guessing_guard(now, phone, token).check_now()


def count_failure(now: datetime, phone: str | None = None, token: str | None = None) -> None:
    """Count a wrong phone, learner code or session code (guessing is slowed down), and
    commit the count alone: whatever the request did besides is undone first."""
    db.session.rollback()
    events = _fail_events(now, phone, token)
    ratelimit.hit_many(events, now=local_day(now), window_seconds=FAIL_WINDOW_SECONDS)
    db.session.commit()
