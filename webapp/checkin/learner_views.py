"""The learner's phone: scan the session QR (or type its code), say who you are once, then
check in with one tap.

Pages are small (no script, one small stylesheet) for cheap phones on 2G, in large type and
plain words. The phone is remembered by a long-lived signed cookie holding a random key; the
key's links to people live in the database, so staff can revoke them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

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

from webapp.checkin import phones, services, throttle
from webapp.checkin.learner_forms import IdentifyForm, SessionCodeForm
from webapp.checkin.models import Attendance, CheckinPoint, JoinRequest, LinkMethod, Method
from webapp.checkin.occasions import Occasion
from webapp.checkin.services import CheckinError
from webapp.extensions import db
from webapp.forms import attempt
from webapp.ids import query_int
from webapp.permissions import public
from webapp.phone import phone_or_none
from webapp.timeutil import utcnow

bp = Blueprint("checkin_learner", __name__)

COOKIE = "lopso_device"


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
        throttle.count_request(now, None)
        throttle.stop_guessing(now)
        if not form.validate():
            return render_template("checkin/learner_code.html", form=form), 422
        with attempt() as refused:  # (the point's token is read before the commit)
            point, code = services.resolve_code(form.code.data, now=now)
            session_page = url_for(".scan", token=point.token, code=code)
        if not refused:
            return redirect(session_page, 303)
        throttle.count_failure(now)
        form.code.errors = [refused.message]
        status = 404
    return render_template("checkin/learner_code.html", form=form), status


# --- scanning the session's QR ----------------------------------------------------------------


@dataclass
class _Visit:
    """One request to a session's page on a learner's phone: the point scanned (read with
    what the request's action needs), and what the phone sent."""

    token: str
    now: datetime
    #: This phone's key (None: the phone is not remembered yet).
    key: str | None
    scanned: services.Scanned
    #: The details typed (saying who you are, or asking to join with them), and who they say
    #: the learner is (None: no details, or details that cannot be anybody's).
    form: IdentifyForm | None = None
    identity: phones.Identity | None = None

    @property
    def occasion(self) -> Occasion:
        return self.scanned.occasion


@bp.route("/c/<token>", methods=["GET", "POST"])
@bp.route("/c/<token>/<code>", methods=["GET", "POST"])
@public
def scan(token: str, code: str | None = None):
    """The session's page on a learner's phone; a POST does what its ``action`` field names
    (see :data:`ACTIONS`). A refusal remembers nothing (no link, no cookie): the page again,
    with the refusal; refused or invalid, the request counts all the same."""
    action = _action()
    try:
        visit = _visit(token, code, action)
    except CheckinError as error:  # an unknown point, an expired rotating code
        return render_template("checkin/learner_refused.html", error=error), error.status
    if action is None:
        return _page(visit)
    if visit.form is not None and visit.form.errors:
        error, status = None, 422  # details left out, or that cannot be anybody's
    else:
        with attempt() as refused:
            return action(visit)
        error = _refusal(visit, refused.error)
        status = error.status
    throttle.commit_counted(visit.now, visit.key)
    return _page(visit, error=error, status=status, other=visit.form is not None)


def _action():
    """The handler of a POST's ``action`` field (saying who you are when it names none of
    :data:`ACTIONS`); None for a GET."""
    if request.method != "POST":
        return None
    return ACTIONS.get(request.form.get("action"), _identify)


def _visit(token: str, code: str | None, action) -> _Visit:
    """The check-in point of ``token`` and its occasion, read in one query with what
    ``action`` needs: for a one-tap check-in, the phone's person; for a learner saying who
    they are (or asking to join with these details), the people with them and the guard's
    counts. Raises :class:`CheckinError` for an unknown token or an expired rotating code."""
    now, key = utcnow(), device_key()
    form = identity = joined = None
    if action is _one_tap:
        joined = phones.linked_join(key, query_int("person_id"))
    elif action in _TYPED:
        form, identity = _typed(now, token)
        joined = identity.joined() if identity is not None else None
    checked = action is not None and _ticket_ok(token)
    scanned = services.resolve_token(token, code=code, now=now, code_checked=checked, joined=joined)
    return _Visit(token, now, key, scanned, form, identity)


def _typed(now, token: str) -> tuple[IdentifyForm, phones.Identity | None]:
    """The details the learner typed, and who they say they are: None (with the form's
    error) when the details cannot be anybody's."""
    form = _identify_form()
    if not form.validate():
        return form, None
    guard = throttle.guessing_guard(now, _phone_key(form), token)
    identity = phones.parse_identity(
        form.phone.data, form.birth_year.data, guard, learner_code=form.learner_code.data
    )
    if identity is None:
        form.form_errors.append(str(BAD_DETAILS))
    return form, identity


def _refusal(visit: _Visit, error: CheckinError) -> CheckinError:
    """What the page says of a refused action. Typed details, whoever they are of (nobody,
    someone not in this class, several people) and whatever else refused them (check-in not
    open): one answer, one cost, counted as a wrong answer."""
    if visit.form is None:
        return error
    throttle.count_failure(visit.now, _phone_key(visit.form), visit.token)
    return CheckinError("not_identified", phones.NOT_IDENTIFIED)


def _page(visit: _Visit, *, error: CheckinError | None = None, status=200, other=False):
    """The session's page: the phone's people with their records, and the form to say who
    you are (open with ``other``, ``?other=1``, or for a phone that knows nobody)."""
    people = phones.device_people(visit.key)
    records = {p.id: services.record_of(visit.occasion, p) for p in people}
    page = render_template(
        "checkin/learner_scan.html",
        occasion=visit.occasion,
        people=people,
        records=records,
        form=visit.form or _identify_form(),
        other=other or request.values.get("other") == "1" or not people,
        error=error,
        is_open=visit.occasion.is_open(visit.now),
        now=visit.now,
        ticket=_ticket_signer().dumps(visit.token) if visit.scanned.point.rotating else None,
    )
    return make_response(page, status)


def _identify_form() -> IdentifyForm:
    """The identify form without a CSRF field of its own: the app's CSRF protection has
    checked this request's token before the view (every POST), and the page carries the
    token as a hidden field; the form would only sign a new one and check it again."""
    return IdentifyForm(meta={"csrf": False})


def _phone_key(form: IdentifyForm | None) -> str | None:
    """The number the learner typed, in its canonical form (None: none, or not a number)."""
    return phone_or_none(form.phone.data) or None if form is not None else None


#: What the learner typed cannot be anybody's (checked before anything is looked up).
BAD_DETAILS = _l(
    "Please check the phone number (such as 0905 123 456) and the year of birth, or the "
    "learner code (six letters and digits)."
)


def _linked(key: str | None):
    """The person of the form, who must be one of this phone's people."""
    person = phones.device_person(key, query_int("person_id"))
    if person is None:
        abort(400)
    return person


# --- what a POST does: one handler per action ---------------------------------------------------
#
# Each runs inside ``attempt``: it commits when the handler returns, and a refusal (a
# ``CheckinError``) is rolled back and shown on the page. A handler counts its request with its
# work (``throttle.count_with_work``) unless it records an arrival.


def _identify(visit: _Visit):
    """Any other ``action`` ("identify"): the learner said who they are (the people with
    these details were read with the check-in point): check them in and, only then, link
    this phone to them, in one transaction (the guard is checked first; any refusal raises
    and nothing is written).

    A phone linked just now (no key yet) has made no request under its key: when the
    request is counted (see :func:`_done_checking_in`), only its address is. The attendance
    row is written first and the phone's link right after it: on SQLite the database is
    locked for writing from a transaction's first write to its commit, so the writes come
    together at the end of the request, with nothing in between them."""
    occasion, now = visit.occasion, visit.now
    person = phones.choose_person(
        visit.identity, visit.scanned.rows, commune_id=occasion.commune_id
    )
    by_code = visit.identity.by == "code"
    new_key = visit.key or phones.new_device_key()
    method = Method.CODE_SELF if by_code else Method.SELF_SCAN
    result = services.check_in(occasion, person, method=method, now=now, device_key=new_key)
    phones.remember(
        key=new_key,
        person=person,
        now=now,
        occasion=occasion,
        user_agent=request.headers.get("User-Agent", ""),
        method=LinkMethod.CODE if by_code else LinkMethod.PHONE,
    )
    response = _done_checking_in(result, now, counted_key=visit.key)
    return _keep_device(response, new_key)


def _one_tap(visit: _Visit):
    """``checkin``: one of this phone's people checks in with one tap (the person was read
    with the check-in point: see :func:`phones.linked_join`)."""
    person = phones.linked_person(visit.scanned.point)
    if person is None:
        abort(400)
    result = services.check_in(
        visit.occasion, person, method=Method.SELF_SCAN, now=visit.now, device_key=visit.key
    )
    return _done_checking_in(result, visit.now, counted_key=visit.key)


def _join(visit: _Visit):
    """``join``: one of this phone's people, not in the class, asks to join it."""
    person = _linked(visit.key)
    services.request_join(visit.occasion, person, now=visit.now, device_key=visit.key)
    throttle.count_with_work(visit.now, visit.key)
    return _to_done(["join", person.id])


def _forget(visit: _Visit):
    """``forget``: this phone no longer checks in for one of its people."""
    phones.forget(key=visit.key or "", person_id=_linked(visit.key).id, now=visit.now)
    throttle.count_with_work(visit.now, visit.key)
    return redirect(request.path, 303)


def _ask(visit: _Visit):
    """``ask``: someone not in the class asks to join with the details they typed: the same
    answer and the same one write whoever they are (see :func:`services.ask_to_join`); the
    phone is not remembered and nobody is named."""
    person = phones.join_candidate(
        visit.identity, visit.scanned.rows, commune_id=visit.occasion.commune_id
    )
    services.ask_to_join(visit.occasion, person, now=visit.now)
    throttle.count_with_work(visit.now, None)
    return _to_done(["join", 0])


#: What a POST to the session's page does, by its ``action`` field (any other: :func:`_identify`).
ACTIONS = {"checkin": _one_tap, "join": _join, "forget": _forget, "ask": _ask}
#: The actions that read the details typed in the identify form.
_TYPED = frozenset({_identify, _ask})


def _done_checking_in(result: services.Result, now, *, counted_key: str | None):
    """Send the phone to the confirmation of a check-in (committed by the caller).

    A check-in that records someone's arrival is not counted against the limits: it happens
    once per learner and session, so it cannot be repeated to flood the server, and a class
    whose phones share one mobile-network address (carrier-grade NAT) does not use up that
    address's allowance by coming to class. Every other request is counted (under
    ``counted_key``: the phone's key, None for a phone remembered by this very request): a
    repeated tap (already checked in), a refusal, a wrong answer, a request to join."""
    if not result.created:
        throttle.count_with_work(now, counted_key)
    return _to_done([result.record_id, int(result.created)])


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
    """The large confirmation: name, class, time (or that the request to join was sent).
    Anything not genuine goes back to the session's page."""
    scan_url = url_for(".scan", token=token, code=code)
    value = _done_value()
    point = db.session.scalar(select(CheckinPoint).where(CheckinPoint.token == token))
    if value is None or point is None:
        return redirect(scan_url)
    where = (point.occasion_kind, point.occasion_id)
    if value[0] == "join":
        page = _join_sent(where, value[1], scan_url)
    else:
        page = _checked_in(where, value, scan_url)
    return page if page is not None else redirect(scan_url)


def _join_sent(where: tuple[str, int], person_id: int, scan_url: str) -> str | None:
    """The request to join was sent: by whom (``person_id``; 0, asked with typed details:
    nobody is named). None for a request that is not at this check-in point."""
    if person_id == 0:
        return render_template("checkin/learner_join_sent.html", person=None, scan_url=scan_url)
    join = db.session.scalar(
        select(JoinRequest).where(
            JoinRequest.occasion_kind == where[0],
            JoinRequest.occasion_id == where[1],
            JoinRequest.person_id == person_id,
        )
    )
    if join is None:
        return None
    return render_template("checkin/learner_join_sent.html", person=join.person, scan_url=scan_url)


def _checked_in(where: tuple[str, int], value: list, scan_url: str) -> str | None:
    """The record of ``value`` (its id, and whether this check-in made it). None for a record
    that is not of this check-in point."""
    record = db.session.get(Attendance, value[0])
    if record is None or (record.occasion_kind, record.occasion_id) != where:
        return None
    return render_template(
        "checkin/learner_done.html",
        record=record,
        occasion=services.occasion_of(record),
        new=bool(value[1]),
        scan_url=scan_url,
    )
