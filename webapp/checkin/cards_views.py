"""Check-in without the learner's phone: printed learner QR cards, the trainer's scan page
(camera, photo or typed learner code) and the paper sign-in sheet.

A card's QR holds ``BASE_URL/p/<learner code>``. The scan page reads it and checks the learner
in; a phone camera that opens it shows a short page with no personal data (staff who may see
the person are taken to the person's page instead).
"""

from dataclasses import asdict, dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from webapp import htmx, qr
from webapp.checkin import phones, services
from webapp.checkin.cards import codes_in_photo, learner_code_in
from webapp.checkin.forms import CardFilterForm, CardScanForm
from webapp.checkin.models import Method, Status
from webapp.checkin.occasions import SessionOccasion
from webapp.checkin.services import CheckinError
from webapp.extensions import db
from webapp.forms import attempt
from webapp.ids import query_int
from webapp.people import audit
from webapp.people import queries as people_queries
from webapp.people.models import Person, Village
from webapp.permissions import MANAGERS, Role, public, roles_required
from webapp.scheduling import queries as scheduling_queries
from webapp.scheduling import services as scheduling
from webapp.scheduling.enrolment import enrolled_people
from webapp.scheduling.models import ClassSession
from webapp.timeutil import to_local, utcnow

bp = Blueprint("checkin_cards", __name__)

#: Who prints a village's cards: planners of the commune and the village's own lead.
# A village's cards carry every villager's learner code (a credential): the commune's
# managers and that village's lead hand them out; trainers print their own class's cards.
CARD_PRINTERS = MANAGERS | {Role.VILLAGE_LEAD}
CARDS_PER_SHEET = 10  # 2 columns x 5 rows of 85 x 53 mm on A4
CARDS_PER_PAGE = 100  # a village's cards, ten sheets at a time (each card carries an SVG)
BLANK_ROWS = 5  # sign-in sheet: rows for people who come without being enrolled


# --- the card ------------------------------------------------------------------------------


def card_url(person: Person) -> str:
    """What a learner card's QR holds: the card's public address."""
    return current_app.config["BASE_URL"] + url_for(
        "checkin_cards.person_card", code=person.learner_code
    )


@bp.app_template_filter("code_groups")
def code_groups(code: str | None) -> str:
    """A learner code in two groups of three, as printed and read aloud: "K7M 2QX"."""
    return f"{code[:3]} {code[3:]}" if code else ""


@bp.app_template_global()
def card_qr(person: Person) -> Markup:
    """The card's QR code as inline SVG."""
    return qr.inline_svg(card_url(person), label=_("QR code of the learner card"))


# --- printed cards -------------------------------------------------------------------------


@bp.get("/classes/<int:class_id>/cards")
@roles_required(*scheduling.PLANNERS)
def class_cards(class_id: int):
    """Printable QR cards of a class's enrolled learners (A4, ten cards a page)."""
    course_class = scheduling_queries.get_class(current_user, class_id, for_running=True)
    people = _with_codes(enrolled_people(course_class, by_village=True, with_villages=True))
    back = (url_for("scheduling.class_detail", class_id=course_class.id), course_class.name)
    return _printed(
        people, _cards_sheet(people, title=course_class.name, total=len(people), back=back)
    )


@bp.get("/villages/<int:village_id>/cards")
@roles_required(*CARD_PRINTERS)
def village_cards(village_id: int):
    """Printable QR cards of everyone in a village (``?group=`` one target group)."""
    village = people_queries.get_village(current_user, village_id) or abort(404)
    form = CardFilterForm(request.args)
    group = form.group.data if form.validate() and form.group.data else ""
    page = db.paginate(
        _villagers(village, group),
        page=query_int("page", 1),
        per_page=CARDS_PER_PAGE,
        max_per_page=CARDS_PER_PAGE,
        error_out=False,
    )
    people = _with_codes(page.items)
    return _printed(
        people,
        _cards_sheet(
            people,
            title=village.name,
            total=page.total,
            back=(url_for("people.index", village=village.id), village.name),
            page=page,
            filter_form=form,
            args={"village_id": village.id, "group": group or None},
        ),
    )


def _villagers(village: Village, group: str) -> Select:
    """Everyone in the village (of one target group, when given), in name order."""
    stmt = (
        select(Person)
        .where(Person.village_id == village.id)
        .options(selectinload(Person.village))
        .order_by(Person.sort_key, Person.birth_year, Person.id)
    )
    return stmt.where(Person.target_group == group) if group else stmt


def _with_codes(people: list[Person]) -> list[Person]:
    """``people``, each with a learner code (given now where missing, and committed): the
    cards and the sign-in sheet print them."""
    phones.ensure_learner_codes(people)
    db.session.commit()
    return people


def _printed(people: list[Person], page: str) -> str:
    """``page``, once each of ``people`` is logged as printed (see :func:`audit.record_read`)."""
    audit.record_read(
        actor=current_user,
        now=utcnow(),
        address=request.remote_addr,
        action=audit.AuditAction.PRINT,
        what=request.endpoint,
        people=people,
    )
    return page


def _cards_sheet(people: list[Person], *, title: str, total: int, back, **paging) -> str:
    """The printable sheets of ``people``'s cards (``paging``: the page of a village's cards,
    its filter form and the arguments of its links)."""
    paging = {"page": None, "filter_form": None, **paging}
    return render_template(
        "checkin/cards_sheet.html",
        people=people,
        title=title,
        total=total,
        back=back,
        per_sheet=CARDS_PER_SHEET,
        **paging,
    )


@bp.get("/p/<code>")
@public
def person_card(code: str):
    """What a card's QR opens on a phone: staff who may see the person go to their page;
    anyone else reads what the card is for, and nothing about its holder."""
    code = services.normalise_code(code)
    person = db.session.scalar(select(Person).where(Person.learner_code == code))
    # Unknown codes get the same page: the address tells nobody whether a code exists.
    if (
        person is not None
        and current_user.is_authenticated
        and people_queries.get_person(current_user, person.id)
    ):
        return redirect(url_for("people.detail", person_id=person.id))
    response = current_app.make_response(render_template("checkin/cards_public.html"))
    response.headers["X-Robots-Tag"] = "noindex"  # card addresses are not for search engines
    return response


# --- the trainer's scan page ---------------------------------------------------------------


@dataclass
class Outcome:
    """What became of one scanned card or typed code."""

    ok: bool
    code: str  # checked_in, already, or the refusal's code
    name: str
    message: str
    #: How it looks: ``new`` (green, a tick), ``repeat`` (a card scanned again: amber, a
    #: circle arrow, "already ... at 14:01") or ``refused`` (red, a cross).
    kind: str = "refused"

    @property
    def text(self) -> str:
        return f"{self.name}: {self.message}" if self.name else self.message


def _outcome(result: services.Result) -> Outcome:
    record = result.record
    time = to_local(record.recorded_at).strftime("%H:%M")
    if not result.created:
        message = _("already checked in earlier, at %(time)s", time=time)
    elif record.status == Status.LATE:
        message = _("checked in just now, at %(time)s (late)", time=time)
    else:
        message = _("checked in just now, at %(time)s", time=time)
    code, kind = ("checked_in", "new") if result.created else ("already", "repeat")
    return Outcome(True, code, record.person.full_name, message, kind)


def _codes_sent(form: CardScanForm) -> tuple[list[str], Method]:
    """The learner codes the trainer sent, and how: a photo, the camera's reading, or typed."""
    if form.photo.data:
        return codes_in_photo(form.photo.data.stream), Method.CARD
    if form.scanned.data:
        code = learner_code_in(form.scanned.data)
        if code is None:
            raise CheckinError("not_a_card", _l("This QR code is not a learner card."))
        return [code], Method.CARD
    if form.code.data:
        return [form.code.data], Method.CODE
    raise CheckinError("nothing_sent", _l("Scan a card, take a photo of it, or type the code."))


def _check_in(occasion: SessionOccasion, code: str, method: Method) -> Outcome:
    """Check in the person of one learner code (committed), or say why not."""
    with attempt() as refused:
        person = phones.person_by_learner_code(code, commune_id=occasion.commune_id)
        result = services.check_in(
            occasion, person, method=method, actor=current_user, now=utcnow()
        )
    if refused:
        return Outcome(False, refused.error.code, "", refused.message)
    return _outcome(result)


def _scan(occasion: SessionOccasion, form: CardScanForm) -> list[Outcome]:
    if not form.validate_on_submit():  # longer than any card's text or code
        if form.code.errors:
            return [
                Outcome(
                    False,
                    "unknown_learner_code",
                    "",
                    _("This learner code is not known. Please check it."),
                )
            ]
        return [Outcome(False, "not_a_card", "", _("This QR code is not a learner card."))]
    try:
        codes, method = _codes_sent(form)
    except CheckinError as error:
        return [Outcome(False, error.code, "", error.message)]
    return [_check_in(occasion, code, method) for code in codes]


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == (
        "application/json"
    )


@bp.route("/sessions/<int:session_id>/scan", methods=["GET", "POST"])
@roles_required(*scheduling.PLANNERS)
def scan(session_id: int):
    """Check learners in from their cards (camera or photo) or typed learner codes.

    The page's script sends each card the camera reads and gets JSON; htmx forms get the
    result fragment; without JavaScript the answer is a message on the page again.
    """
    session = scheduling_queries.get_session(current_user, session_id, for_running=True)
    occasion = SessionOccasion(session)
    form = CardScanForm()
    if request.method == "GET":
        page = "checkin/scan_page.html"
        return _session_page(page, session, occasion=occasion, form=form, outcomes=[])
    return _scan_answer(_scan(occasion, form), session_id)


def _scan_answer(outcomes: list[Outcome], session_id: int):
    """What the scan page's script (JSON), an htmx form (the result fragment) or a plain form
    (messages on the page again) gets back."""
    if _wants_json():
        response = jsonify(results=[asdict(o) for o in outcomes])
    elif htmx.is_htmx():
        response = current_app.make_response(
            render_template("checkin/scan_result.html", outcomes=outcomes)
        )
    else:
        for outcome in outcomes:
            flash(outcome.text, {"new": "success", "repeat": "repeat"}.get(outcome.kind, "error"))
        return redirect(url_for(".scan", session_id=session_id))
    response.vary.update(("Accept", "HX-Request"))
    return response


# --- the paper sign-in sheet ---------------------------------------------------------------


@bp.get("/sessions/<int:session_id>/sheet")
@roles_required(*scheduling.PLANNERS)
def sheet(session_id: int):
    """A printable sign-in sheet of the session's learners, entered afterwards on the roster."""
    session = scheduling_queries.get_session(current_user, session_id, for_running=True)
    people = _with_codes(enrolled_people(session.course_class, with_villages=True))
    page = _session_page("checkin/sheet.html", session, people=people, blank_rows=BLANK_ROWS)
    return _printed(people, page)


def _session_page(template: str, session: ClassSession, **context) -> str:
    """A page of one session: with the session, its class and the time."""
    return render_template(
        template, session=session, course_class=session.course_class, now=utcnow(), **context
    )
