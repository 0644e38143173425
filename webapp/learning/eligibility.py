"""Who may receive the basic certificate of a class, and what the others still lack.

THE RULE (one learner, one class, one framework version — the current one unless given):

- The rule is the CertificateRule of the learner's target group in that version. A learner
  whose group has no rule is not eligible ("no certificate rule for this group").
- Attendance: sessions attended (present or late) out of sessions held so far, both counted
  by webapp.checkin.records.tally / is_held (cancelled and coming sessions do not count).
  The learner needs ``attended * 100 >= min_attendance_pct * held``; ``sessions_short`` is
  how many more attended sessions that would take. With no session held yet, a rule asking
  for any attendance is not met.
- Hours: the lengths of the sessions attended, plus the hours of held mentoring meetings the
  learner attended when the group's rule says they count (``meeting_hours_count``, default
  no; ``hours_note`` says which); ``hours_short = min_hours - hours``.
- Competencies: required = the rule's codes, intersected with the course's competency_codes
  when the course lists some (a course teaches a subset). When the course lists none, or
  none of its codes is in the rule (e.g. a course of "9.9" only, or of codes from another
  version), the rule's FULL list is required: attendance alone never earns the
  certificate. Achieved = codes with any evidence that counts (``Evidence.counting``: not
  withdrawn, and not a quiz passed on a learner's phone whose link staff have not confirmed),
  of any kind, from any class; a VNeID confirmation (code "*") achieves every code.
  missing = required - achieved, in framework order.
- Eligible when a rule exists, attendance, hours and competencies are all met.

``reasons`` lists what is missing, each piece translated on its own ("2 sessions",
"1.5 hours", "competency 4.2"; Vietnamese "2 buổi học", "1,5 giờ", "năng lực 4.2") followed
by other notes; ``summary`` is "missing: 2 sessions; 1.5 hours; competency 4.2" (Vietnamese
"còn thiếu: 2 buổi học; 1,5 giờ; năng lực 4.2").
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import format_decimal, gettext, ngettext
from sqlalchemy import select

from webapp.checkin import records
from webapp.checkin.models import Attendance, OccasionKind
from webapp.checkin.occasions import KINDS
from webapp.extensions import db
from webapp.learning import framework
from webapp.learning.models import ALL_COMPETENCIES, CertificateRule, Evidence, FrameworkVersion
from webapp.people.models import Person
from webapp.scheduling.enrolment import enrolled_people
from webapp.scheduling.models import ClassSession, CourseClass


def hours_text(hours: float) -> str:
    """1.5 the Vietnamese way (1,5) in a Vietnamese page."""
    return format_decimal(round(hours, 1), format="0.#")


@dataclass
class Eligibility:
    eligible: bool
    person: Person
    course_class: CourseClass
    version: FrameworkVersion
    rule: CertificateRule | None
    attended: int
    held: int
    attendance_pct: float | None
    hours: float
    sessions_short: int
    hours_short: float
    achieved: list[str]
    missing: list[str]
    reasons: list[str] = field(default_factory=list)
    #: The pieces of ``reasons`` that say what is missing (the others are notes).
    missing_pieces: list[str] = field(default_factory=list)
    #: Hours of held mentoring meetings attended (in ``hours`` only if the rule counts them).
    meeting_hours: float = 0.0
    #: How mentoring meetings count here, in words ("" when the learner had none).
    hours_note: str = ""

    @property
    def summary(self) -> str:
        """ "còn thiếu: 2 buổi học; 1,5 giờ; năng lực 4.2" — empty when eligible."""
        parts = []
        if self.missing_pieces:
            parts.append(gettext("missing: %(items)s", items="; ".join(self.missing_pieces)))
        parts += [r for r in self.reasons if r not in self.missing_pieces]
        return "; ".join(parts)


def _required(rule: CertificateRule | None, course_class: CourseClass) -> list[str]:
    if rule is None:
        return []
    taught = set(course_class.course.competency_codes or [])
    overlap = [c for c in rule.required_codes if c in taught]
    return overlap or list(rule.required_codes)


def _hours_note(rule: CertificateRule | None, meeting_hours: float) -> str:
    if not meeting_hours:
        return ""
    if rule is not None and rule.meeting_hours_count:
        return gettext(
            "includes %(hours)s hours of mentoring meetings", hours=hours_text(meeting_hours)
        )
    return gettext(
        "%(hours)s hours of mentoring meetings do not count for this group",
        hours=hours_text(meeting_hours),
    )


def _evaluate(
    person, course_class, version, rule, sessions, statuses, codes, now, meeting_hours=0.0
) -> Eligibility:
    tally = records.tally(sessions, statuses, now)
    pct = rule.min_attendance_pct if rule else 0
    min_hours = rule.min_hours if rule else 0.0
    needed = -(-pct * tally.held // 100)  # ceil(pct% of held)
    sessions_short = max(0, needed - tally.attended)
    counted = meeting_hours if rule is not None and rule.meeting_hours_count else 0.0
    hours = round(tally.hours + counted, 2)
    hours_short = max(0.0, round(min_hours - hours, 2))
    required = _required(rule, course_class)
    everything = ALL_COMPETENCIES in codes  # a VNeID confirmation
    own = codes - {ALL_COMPETENCIES}
    achieved = sorted(own | set(required)) if everything else sorted(own)
    missing = [] if everything else [c for c in required if c not in own]
    pieces, notes = [], []
    if rule is None:
        notes.append(gettext("no certificate rule for this learner's group"))
    if sessions_short:
        pieces.append(ngettext("%(num)d session", "%(num)d sessions", sessions_short))
    if rule is not None and pct > 0 and tally.held == 0:
        notes.append(gettext("no session held yet"))
    if hours_short > 0:
        pieces.append(gettext("%(hours)s hours", hours=hours_text(hours_short)))
    if missing:
        pieces.append(
            ngettext(
                "competency %(codes)s",
                "competencies %(codes)s",
                len(missing),
                codes=", ".join(missing),
            )
        )
    eligible = rule is not None and not pieces and not notes
    return Eligibility(
        eligible=eligible,
        person=person,
        course_class=course_class,
        version=version,
        rule=rule,
        attended=tally.attended,
        held=tally.held,
        attendance_pct=tally.rate * 100 if tally.rate is not None else None,
        hours=hours,
        sessions_short=sessions_short,
        hours_short=hours_short,
        achieved=achieved,
        missing=missing,
        reasons=pieces + notes,
        missing_pieces=pieces,
        meeting_hours=round(meeting_hours, 2),
        hours_note=_hours_note(rule, meeting_hours),
    )


def _version(version: FrameworkVersion | None) -> FrameworkVersion:
    version = version or framework.current_version()
    if version is None:
        raise LookupError("no framework version: run `flask framework import` or seed-demo")
    return version


def _evaluate_all(people, course_class, version, now) -> list[Eligibility]:
    rules = {
        r.target_group: r
        for r in db.session.scalars(
            select(CertificateRule).where(CertificateRule.version_id == version.id)
        )
    }
    sessions = list(
        db.session.scalars(
            select(ClassSession)
            .where(ClassSession.class_id == course_class.id)
            .order_by(ClassSession.starts_at, ClassSession.id)
        )
    )
    ids = [p.id for p in people]
    statuses: dict[int, dict[int, str]] = defaultdict(dict)
    codes: dict[int, set[str]] = defaultdict(set)
    if ids and sessions:
        for person_id, session_id, status in db.session.execute(
            select(Attendance.person_id, Attendance.occasion_id, Attendance.status).where(
                Attendance.occasion_kind == OccasionKind.SESSION,
                Attendance.occasion_id.in_([s.id for s in sessions]),
                Attendance.person_id.in_(ids),
            )
        ):
            statuses[person_id][session_id] = status
    if ids:
        for person_id, code in db.session.execute(
            select(Evidence.person_id, Evidence.competency_code).where(
                Evidence.person_id.in_(ids), Evidence.counting()
            )
        ):
            codes[person_id].add(code)
    # Mentoring meetings: their hours, told on the page, counted where the group's rule says.
    meeting_hours = KINDS[OccasionKind.MEETING].attended_hours(ids) if ids else {}
    return [
        _evaluate(
            p,
            course_class,
            version,
            rules.get(p.target_group),
            sessions,
            statuses[p.id],
            codes[p.id],
            now,
            meeting_hours.get(p.id, 0.0),
        )
        for p in people
    ]


def check(
    person: Person,
    course_class: CourseClass,
    *,
    now: datetime,
    version: FrameworkVersion | None = None,
) -> Eligibility:
    """Whether ``person`` may receive the certificate of ``course_class`` under ``version``."""
    return _evaluate_all([person], course_class, _version(version), now)[0]


def for_class(
    course_class: CourseClass, *, now: datetime, version: FrameworkVersion | None = None
) -> list[Eligibility]:
    """Every enrolled learner of the class (their villages loaded), in Vietnamese name order
    (seven queries at most, whatever the size of the class)."""
    version = _version(version)
    return _evaluate_all(
        enrolled_people(course_class, with_villages=True), course_class, version, now
    )


def missing_competencies(people, *, version: FrameworkVersion | None = None) -> dict:
    """What each person still lacks of their group's certificate rule in the current version,
    whatever the class: person id -> the missing codes in framework order ([] when none is
    missing), or None when their group has no rule (three queries, whatever the number)."""
    people = list(people)
    version = version or framework.current_version()
    if version is None or not people:
        return {p.id: None for p in people}
    rules = {
        r.target_group: r.required_codes
        for r in db.session.scalars(
            select(CertificateRule).where(CertificateRule.version_id == version.id)
        )
    }
    codes: dict[int, set[str]] = defaultdict(set)
    for person_id, code in db.session.execute(
        select(Evidence.person_id, Evidence.competency_code).where(
            Evidence.person_id.in_([p.id for p in people]), Evidence.counting()
        )
    ):
        codes[person_id].add(code)
    found = {}
    for person in people:
        required = rules.get(person.target_group)
        if required is None:
            found[person.id] = None
        elif ALL_COMPETENCIES in codes[person.id]:
            found[person.id] = []
        else:
            found[person.id] = [c for c in required if c not in codes[person.id]]
    return found
