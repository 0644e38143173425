"""The learner's phone: scan the session QR (or type its code), say who you are once, then
check in with one tap.

Pages are small (no script, one small stylesheet) for cheap phones on 2G, in large type and
plain words. The phone is remembered by a long-lived signed cookie holding a random key; the
key's links to people live in the database, so staff can revoke them.
"""

from datetime import UTC, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select

from webapp import ratelimit
from webapp.checkin import services
from webapp.checkin.learner_forms import IdentifyForm, SessionCodeForm
from webapp.checkin.models import Attendance, CheckinPoint, JoinRequest, LinkMethod, Method
from webapp.checkin.occasions import Occasion
from webapp.checkin.services import CheckinError
from webapp.extensions import db
from webapp.ids import query_int
from webapp.permissions import public
from webapp.phone import phone_or_none
from webapp.timeutil import to_local, utcnow

bp = Blueprint("checkin_learner", __name__)

COOKIE = "lopso_device"
WINDOW_SECONDS = 600


# --- the remembered phone ----------------------------------------------------------------------


def _serializer(cls, salt: str):
    """One serializer per app, secret and salt (making one costs more than signing)."""
    cache = current_app.extensions.setdefault("checkin_serializers", {})
    key = (cls, salt, current_app.secret_key)
    serializer = cache.get(key)
    if serializer is None:
        serializer = cache[key] = cls(current_app.secret_key, salt=salt)
    return serializer


def _signer() -> URLSafeSerializer:
    return _serializer(URLSafeSerializer, "lopso-device")


def device_key() -> str | None:
    """The key of this phone, when its cookie is present and genuine."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        key = _signer().loads(value)
    except BadSignature:
        return None
    return key if isinstance(key, str) else None


def _keep_device(response, key: str):
    response.set_cookie(
        COOKIE,
        _signer().dumps(key),
        max_age=int(timedelta(days=current_app.config["CHECKIN_DEVICE_DAYS"]).total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=current_app.config["BASE_URL"].startswith("https://"),
    )
    return response


# --- limits ----------------------------------------------------------------------------------


def _address() -> str:
    """The client's address; IPv6 clients by their /64 (one home or phone has all of it)."""
    return ratelimit.address_key(request.remote_addr)


def _count_request(now, key: str | None) -> None:
    """Count a check-in request per address and per phone; 429 beyond the limits."""
    if _count(now, key):
        db.session.commit()
        abort(429)
    db.session.commit()


def _commit_counted(now, key: str | None) -> None:
    """Count this request with the rest of its work and commit both at once (one round trip
    fewer; the counter row is locked only for the moment before the commit). Beyond the
    limits the work is undone, the request still counts, and the answer is 429."""
    if _count(now, key):
        db.session.rollback()
        _count(now, key)
        db.session.commit()
        abort(429)
    db.session.commit()


def _count(now, key: str | None) -> bool:
    """Count the request per address and per phone; True when over a limit."""
    config = current_app.config
    events = [("checkin-address", _address())] + ([("checkin-device", key)] if key else [])
    hits = ratelimit.hit_many(events, now=now, window_seconds=WINDOW_SECONDS)  # one statement
    return hits[0] > config["CHECKIN_MAX_PER_ADDRESS"] or bool(
        key and hits[1] > config["CHECKIN_MAX_PER_DEVICE"]
    )


def _phone_key(form: IdentifyForm | None) -> str | None:
    """The number the learner typed, in its canonical form (None: none, or not a number)."""
    return phone_or_none(form.phone.data) or None if form is not None else None


# Wrong answers (a phone number and birth year, a learner code, a session code) are counted
# per address, in ten-minute slots, and per phone number and check-in point (one session):
# a stranger who knows a number and tries birth years is stopped after a few tries for the
# whole session, from any number of addresses. One guard reads both counts with the point in
# one query, so they share one counting window: a day that turns at 03:00 local time, when
# no class is held (an evening class may run past midnight); the address's slot is part of
# its key.
FAIL_WINDOW_SECONDS = 86_400
FAIL_DAY_TURNS = timedelta(hours=3)

TOO_MANY = _l(
    "Too many tries with these details for this session. Please ask the trainer to mark you "
    "on the class list; next time, this phone can check you in."
)


def _fail_events(now, phone: str | None, token: str | None) -> list[tuple[str, str]]:
    slot = int(now.timestamp()) // WINDOW_SECONDS
    events = [("checkin-fail", f"{_address()}@{slot}")]
    if phone and token:
        events.append(("checkin-fail-phone", f"{token}:{phone}"))
    return events


def _local_day(now):
    """``now`` shifted so that day-long counting windows turn at 03:00 local time."""
    return to_local(now).replace(tzinfo=UTC) - FAIL_DAY_TURNS


def _stop_guessing(now, phone: str | None = None, token: str | None = None) -> None:
    """429 once this address, or this phone number at this session, had too many wrong
    answers.

    Only identifying and typed codes count: a learner whose phone is remembered checks in
    even when a neighbour on the same mobile-network address mistyped many times.
    """
    _guessing_guard(now, phone, token).check_now()  # one query


def _guessing_guard(now, phone: str | None = None, token: str | None = None) -> ratelimit.Guard:
    """:func:`_stop_guessing` as a guard, for a query that reads the counts with its rows."""
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

    return ratelimit.Guard(events, _local_day(now), FAIL_WINDOW_SECONDS, check)


def _count_failure(now, phone: str | None = None, token: str | None = None) -> None:
    """A wrong phone, learner code or session code: guessing is slowed down."""
    db.session.rollback()
    events = _fail_events(now, phone, token)
    ratelimit.hit_many(events, now=_local_day(now), window_seconds=FAIL_WINDOW_SECONDS)
    db.session.commit()


# --- rotating codes: a ticket for slow typists --------------------------------------------------


def _ticket_signer() -> URLSafeTimedSerializer:
    return _serializer(URLSafeTimedSerializer, "lopso-rotating-ticket")


def _ticket_ok(token: str) -> bool:
    """The page was opened with a valid rotating code less than ten minutes ago."""
    ticket = request.form.get("ticket")
    if not ticket:
        return False
    try:
        return _ticket_signer().loads(ticket, max_age=600) == token
    except BadSignature:
        return False


# --- typing the session's code ---------------------------------------------------------------


@bp.route("/c")
@public
def enter_code():
    """For phones whose camera cannot read the QR: type the six characters on the screen."""
    form = SessionCodeForm(request.args, meta={"csrf": False})
    status = 200
    if request.args.get("code") is not None:
        now = utcnow()
        _count_request(now, None)
        _stop_guessing(now)
        if form.validate():
            try:
                point, code = services.resolve_code(form.code.data, now=now)
            except CheckinError as error:
                _count_failure(now)
                form.code.errors = [error.message]
                status = 404
            else:
                return redirect(url_for(".scan", token=point.token, code=code), 303)
        else:
            status = 422
    return render_template("checkin/learner_code.html", form=form), status


# --- scanning the session's QR ----------------------------------------------------------------


@bp.route("/c/<token>", methods=["GET", "POST"])
@bp.route("/c/<token>/<code>", methods=["GET", "POST"])
@public
def scan(token: str, code: str | None = None):
    now = utcnow()
    checked = request.method == "POST" and _ticket_ok(token)
    key = device_key()
    action = request.form.get("action") if request.method == "POST" else None
    # A one-tap check-in reads the phone's person with the point, and a learner saying who
    # they are, the people with that phone number and birth year: one query either way.
    linked = (key, query_int("person_id")) if action == "checkin" else None
    form = identity = None  # the identify form, made when needed (not for a one-tap check-in)
    if request.method == "POST" and action not in ("checkin", "join", "forget"):
        form = _identify_form()  # identifying, or asking to join ("ask") with the same details
        if form.validate():
            guard = _guessing_guard(now, _phone_key(form), token)
            identity = services.identity_of(
                form.phone.data, form.birth_year.data, guard, learner_code=form.learner_code.data
            )
            if identity is None:
                form.form_errors.append(str(BAD_DETAILS))
    try:
        point, occasion = services.resolve_token(
            token, code=code, now=now, code_checked=checked, linked=linked, identity=identity
        )
    except CheckinError as error:
        return render_template("checkin/learner_refused.html", error=error), error.status
    other = request.values.get("other") == "1"
    error, status = None, 200
    if request.method == "POST":
        try:
            if action == "checkin":
                person = services.linked_person(point)
                if person is None:
                    abort(400)
                return _check_in(occasion, person, key, now, counted_key=key)
            if action == "join":
                return _join(occasion, _linked(key), key, now)
            if action == "forget":
                services.forget(key=key or "", person_id=_linked(key).id, now=now)
                _commit_counted(now, key)
                return redirect(request.path, 303)
            if form.errors:
                status, other = 422, True
            elif action == "ask":
                return _ask_to_join(occasion, identity, now)
            else:
                return _identify_and_check_in(occasion, identity, key, now)
        except CheckinError as caught:
            db.session.rollback()
            refused = caught
            if form is not None:
                # Whoever the details are of (nobody, someone not in this class, several
                # people) and whatever else refused it (check-in not open): one answer, one
                # cost, counted as a wrong answer. Nothing is remembered.
                refused = services.CheckinError("not_identified", services.NOT_IDENTIFIED)
                _count_failure(now, _phone_key(form), token)
                other = True
            error, status = refused, refused.status
        _commit_counted(now, key)  # refused or invalid: the request counts all the same
    people = services.device_people(key)
    records = {p.id: services.record_of(occasion, p) for p in people}
    response = make_response(
        render_template(
            "checkin/learner_scan.html",
            occasion=occasion,
            people=people,
            records=records,
            form=form or _identify_form(),
            other=other or not people,
            error=error,
            is_open=occasion.is_open(now),
            now=now,
            ticket=_ticket_signer().dumps(token) if point.rotating else None,
        ),
        status,
    )
    return response  # a refusal remembers nothing: no link, no cookie


def _identify_form() -> IdentifyForm:
    """The identify form without a CSRF field of its own: the app's CSRF protection has
    checked this request's token before the view (every POST), and the page carries the
    token as a hidden field; the form would only sign a new one and check it again."""
    return IdentifyForm(meta={"csrf": False})


#: What the learner typed cannot be anybody's (checked before anything is looked up).
BAD_DETAILS = _l(
    "Please check the phone number (such as 0905 123 456) and the year of birth, or the "
    "learner code (six letters and digits)."
)


def _linked(key: str | None):
    """The person of the form, who must be one of this phone's people."""
    person = services.device_person(key, query_int("person_id"))
    if person is None:
        abort(400)
    return person


def _identify_and_check_in(occasion: Occasion, identity: services.Identity, key: str | None, now):
    """The learner said who they are (``identity``: read with the check-in point): check
    them in and, only then, link this phone to them, in one transaction (the guard is
    checked first; any refusal raises and nothing is written).

    A phone linked just now (no ``key`` yet) has made no request under its key: when the
    request is counted (see :func:`_done_checking_in`), only its address is. The attendance
    row is written first and the phone's link right after it: on SQLite the database is
    locked for writing from a transaction's first write to its commit, so the writes come
    together at the end of the request, with nothing in between them."""
    person = services.identified(identity, commune_id=occasion.commune_id)
    by_code = identity.by == "code"
    new_key = key or services.new_device_key()
    method = Method.CODE_SELF if by_code else Method.SELF_SCAN
    result = services.check_in(occasion, person, method=method, now=now, device_key=new_key)
    services.remember(
        key=new_key,
        person=person,
        now=now,
        occasion=occasion,
        user_agent=request.headers.get("User-Agent", ""),
        method=LinkMethod.CODE if by_code else LinkMethod.PHONE,
    )
    response = _done_checking_in(result, now, counted_key=key)
    return _keep_device(response, new_key)


def _check_in(occasion: Occasion, person, key: str | None, now, *, counted_key: str | None):
    """Check in by this phone; when the request is counted (see :func:`_done_checking_in`),
    it is counted per address and under ``counted_key`` (the phone's key, or None for a
    phone remembered by this very request)."""
    result = services.check_in(occasion, person, method=Method.SELF_SCAN, now=now, device_key=key)
    return _done_checking_in(result, now, counted_key=counted_key)


def _done_checking_in(result: services.Result, now, *, counted_key: str | None):
    """Commit the check-in and send the phone to the confirmation.

    A check-in that records someone's arrival is not counted against the limits: it happens
    once per learner and session, so it cannot be repeated to flood the server, and a class
    whose phones share one mobile-network address (carrier-grade NAT) does not use up that
    address's allowance by coming to class. Every other request is counted: a repeated tap
    (already checked in), a refusal, a wrong answer, a request to join."""
    done = [result.record_id, int(result.created)]
    if result.created:
        db.session.commit()
    else:
        _commit_counted(now, counted_key)
    return _to_done(done)


def _ask_to_join(occasion: Occasion, identity: services.Identity, now):
    """Someone not in the class asks to join with the details they typed: the same answer
    and the same one write whoever they are (see :func:`services.ask_to_join`); the phone is
    not remembered and nobody is named."""
    person = services.join_candidate(identity, commune_id=occasion.commune_id)
    services.ask_to_join(occasion, person, now=now)
    _commit_counted(now, None)
    return _to_done(["join", 0])


def _join(occasion: Occasion, person, key: str | None, now):
    services.request_join(occasion, person, now=now, device_key=key)
    person_id = person.id
    _commit_counted(now, key)
    return _to_done(["join", person_id])


# --- the confirmation ------------------------------------------------------------------------
#
# The check-in's answer is a redirect to the confirmation, which says what was done in a short
# signed value in its address (the record's id and whether it was made, or the person who asked
# to join): the check-in itself writes no session cookie. The confirmation shows a record only
# for a genuine value, and only a record of this check-in point.


def _done_signer() -> URLSafeSerializer:
    return _serializer(URLSafeSerializer, "lopso-checkin-done")


def _to_done(value: list):
    args = request.view_args
    return redirect(
        url_for(".done", token=args["token"], code=args.get("code"), r=_done_signer().dumps(value)),
        303,
    )


def _done_value() -> list | None:
    try:
        value = _done_signer().loads(request.args.get("r", ""))
    except BadSignature:
        return None
    if (
        isinstance(value, list)
        and len(value) == 2
        and (value[0] == "join" or type(value[0]) is int)
        and type(value[1]) is int
    ):
        return value
    return None


@bp.route("/c/<token>/ok")
@bp.route("/c/<token>/<code>/ok")
@public
def done(token: str, code: str | None = None):
    """The large confirmation: name, class, time."""
    scan_url = url_for(".scan", token=token, code=code)
    value = _done_value()
    point = db.session.scalar(select(CheckinPoint).where(CheckinPoint.token == token))
    if value is None or point is None:
        return redirect(scan_url)
    where = (point.occasion_kind, point.occasion_id)
    if value == ["join", 0]:  # asked with typed details: nobody is named
        return render_template("checkin/learner_join_sent.html", person=None, scan_url=scan_url)
    if value[0] == "join":
        join = db.session.scalar(
            select(JoinRequest).where(
                JoinRequest.occasion_kind == where[0],
                JoinRequest.occasion_id == where[1],
                JoinRequest.person_id == value[1],
            )
        )
        if join is None:
            return redirect(scan_url)
        return render_template(
            "checkin/learner_join_sent.html", person=join.person, scan_url=scan_url
        )
    record = db.session.get(Attendance, value[0])
    if record is None or (record.occasion_kind, record.occasion_id) != where:
        return redirect(scan_url)
    occasion = services.occasion_of(record)
    return render_template(
        "checkin/learner_done.html",
        record=record,
        occasion=occasion,
        new=bool(value[1]),
        scan_url=scan_url,
    )
