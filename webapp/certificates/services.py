"""Issuing, revoking and re-issuing certificates, and the print log.

A certificate is issued only to a learner who is eligible under the framework's rule
(webapp.learning.eligibility), once per class: a second valid one is refused. Its printed
fields are frozen in ``snapshot`` at issue; afterwards it is never edited, only revoked with
a reason (and perhaps re-issued as a new record that points to the old one).
"""

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text

from webapp.accounts.models import User
from webapp.certificates.models import Certificate, PrintKind, PrintLog
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.people.models import Commune, Person, Village
from webapp.permissions import MANAGERS
from webapp.scheduling.access import can_plan, in_commune
from webapp.scheduling.enrolment import is_enrolled
from webapp.scheduling.models import ClassStatus, CourseClass
from webapp.text import clean, nfc
from webapp.timeutil import to_local

#: Who issues, revokes and re-issues; everybody else on the staff reads and prints.
ISSUERS = MANAGERS
SERIAL_DIGITS = 6


class CertificateError(DomainError):
    pass


# --- the framework (webapp.learning), behind two seams the tests can replace --------------------


def framework_ready() -> bool:
    """Whether a framework version exists (nothing can be judged before one is imported)."""
    from webapp.learning import framework

    return framework.current_version() is not None


def check_eligibility(person: Person, course_class: CourseClass, *, now: datetime):
    """webapp.learning.eligibility.check (imported here: learning is optional at import)."""
    from webapp.learning import eligibility

    if not framework_ready():
        raise CertificateError("no_framework", _l("No competency framework has been imported yet."))
    return eligibility.check(person, course_class, now=now)


def class_eligibility(course_class: CourseClass, *, now: datetime) -> list:
    """webapp.learning.eligibility.for_class: every enrolled learner, in name order (none
    before a framework is imported)."""
    from webapp.learning import eligibility

    if not framework_ready():
        return []
    return eligibility.for_class(course_class, now=now)


def competency_names(version) -> dict[str, str]:
    """Code -> Vietnamese name in ``version``, in framework order (certificates are Vietnamese
    whatever the language of the page that issues them)."""
    from webapp.learning import framework

    with force_locale("vi"):
        return framework.competency_names(version)


# --- who may do what -------------------------------------------------------------------------


def can_manage(actor: User, commune_id: int) -> bool:
    """Managers of the commune issue, revoke and re-issue its certificates."""
    return actor.role in ISSUERS and in_commune(actor, commune_id)


def can_issue(actor: User, course_class: CourseClass) -> bool:
    """Whether ``actor`` may issue the class's certificates (once the class is finished)."""
    return can_manage(actor, course_class.commune_id)


def can_print_class(actor: User, course_class: CourseClass) -> bool:
    """Whether ``actor`` may download all the class's certificates in one PDF: those who plan
    classes in its commune (a village lead prints their village's only)."""
    return can_plan(actor, course_class.commune_id)


def is_finished(course_class: CourseClass) -> bool:
    return course_class.status == ClassStatus.FINISHED


def require_finished(course_class: CourseClass) -> None:
    """Certificates are issued only once the class is over."""
    if not is_finished(course_class):
        raise CertificateError(
            "class_not_finished",
            _l("Certificates are issued only after the class has finished."),
            status=409,
        )


def signer_name() -> str:
    """The name printed under the signer's title (``CERTIFICATE_SIGNER_NAME``; empty when it
    is not configured)."""
    return clean(current_app.config.get("CERTIFICATE_SIGNER_NAME") or "")


def require_signer() -> None:
    """No certificate is issued before the name of the person who signs it is configured: the
    paper would carry a title with nobody under it."""
    if not signer_name():
        raise CertificateError(
            "signer_not_configured",
            _l(
                "Certificates cannot be issued yet: the name of the person who signs them is "
                "not configured (CERTIFICATE_SIGNER_NAME). Ask the administrator to set it."
            ),
            status=409,
        )


def require_issuer(actor: User, commune_id: int) -> None:
    if not can_manage(actor, commune_id):
        raise CertificateError(
            "not_allowed", _l("Only an organiser may issue or revoke certificates."), status=403
        )


# --- serials and snapshots -------------------------------------------------------------------

_NEXT_SERIAL = text(
    "INSERT INTO certificate_serials (commune_id, year, last) VALUES (:commune, :year, 1)"
    " ON CONFLICT (commune_id, year) DO UPDATE SET last = certificate_serials.last + 1"
    " RETURNING last"
)


def next_serial(commune: Commune, year: int) -> str:
    """The next serial of the commune in ``year``: NGOKBAY-2025-000123.

    One atomic upsert on the counter row (SQLite and PostgreSQL): a concurrent issue waits
    on the row lock until this transaction ends, then takes the next number.
    """
    number = db.session.execute(_NEXT_SERIAL, {"commune": commune.id, "year": year}).scalar_one()
    return f"{commune.code}-{year}-{number:0{SERIAL_DIGITS}d}"


def date_text(place: str, day) -> str:
    """The place and date line, "Ngọk Bay, ngày 25 tháng 11 năm 2025", written the way
    Decree 30/2020/NĐ-CP dates documents: days below 10 and the months 1 and 2 with a
    leading zero ("ngày 05 tháng 02", but "tháng 3")."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return nfc(f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}")


def _achieved(eligibility, course_class: CourseClass) -> list[dict]:
    """The competencies printed: those achieved that the course teaches (all achieved when
    the course lists none), in framework order, with their Vietnamese names."""
    names = competency_names(eligibility.version)
    taught = set(course_class.course.competency_codes or [])
    achieved = {c for c in eligibility.achieved if not taught or c in taught}
    ordered = [c for c in names if c in achieved] + sorted(achieved - set(names))
    return [{"code": clean(code), "name": clean(names.get(code, ""))} for code in ordered]


def snapshot(eligibility, *, serial: str, now: datetime) -> dict:
    """Every field printed on the certificate, as it is today."""
    person, course_class = eligibility.person, eligibility.course_class
    commune = db.session.get(Commune, course_class.commune_id)
    village = db.session.get(Village, person.village_id)
    config = current_app.config
    place = clean(config.get("CERTIFICATE_PLACE") or commune.name)
    day = to_local(now).date()
    version = eligibility.version
    return {
        "full_name": clean(person.full_name),
        "birth_year": person.birth_year,
        "village": clean(village.name) if village else "",
        "course": clean(course_class.course.title),
        "class_name": clean(course_class.name),
        "competencies": _achieved(eligibility, course_class),
        "hours": round(float(eligibility.hours), 1),
        "date": day.isoformat(),
        "place": place,
        "date_text": date_text(place, day),
        "commune": clean(commune.name),
        "committee": clean(commune.committee_name or f"UBND xã {commune.name}"),
        "signer_title": clean(config.get("CERTIFICATE_SIGNER_TITLE", "Chủ tịch")),
        "signer_name": signer_name(),
        "serial": clean(serial),
        # The app names a version by its number ("phiên bản 1"); the label of its source file
        # ("0.1-draft") is kept for the staff page.
        "framework_version_number": getattr(version, "number", None) if version else None,
        "framework_version": clean(getattr(version, "label", "") or "") if version else "",
    }


# --- issue, revoke, re-issue -----------------------------------------------------------------


def valid_certificate(person_id: int, class_id: int) -> Certificate | None:
    """The learner's valid (not revoked) certificate of the class, if any."""
    return db.session.scalar(
        select(Certificate).where(
            Certificate.person_id == person_id,
            Certificate.class_id == class_id,
            Certificate.revoked_at.is_(None),
        )
    )


def revoked_certificate(person_id: int, class_id: int) -> Certificate | None:
    """The learner's latest revoked certificate of the class, if any."""
    return db.session.scalar(
        select(Certificate)
        .where(
            Certificate.person_id == person_id,
            Certificate.class_id == class_id,
            Certificate.revoked_at.is_not(None),
        )
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        .limit(1)
    )


def _create(eligibility, *, actor: User, now: datetime, replaces: Certificate | None = None):
    course_class = eligibility.course_class
    commune = db.session.get(Commune, course_class.commune_id)
    # The counter row is locked first: a concurrent issue to the same learner waits here,
    # and then sees this one's certificate in the duplicate check below.
    serial = next_serial(commune, to_local(now).year)
    if valid_certificate(eligibility.person.id, course_class.id) is not None:
        raise CertificateError(
            "already_issued",
            _l("%(name)s already has a valid certificate of this class."),
            name=eligibility.person.full_name,
        )
    certificate = Certificate(
        serial=serial,
        verify_code=secrets.token_urlsafe(12),
        commune_id=commune.id,
        person_id=eligibility.person.id,
        class_id=course_class.id,
        framework_version_id=getattr(eligibility.version, "id", None),
        snapshot=snapshot(eligibility, serial=serial, now=now),
        issued_by_id=actor.id,
        issued_at=now,
        revoke_reason="",
        replaces_id=replaces.id if replaces else None,
    )
    db.session.add(certificate)
    return certificate


def _eligible(person: Person, course_class: CourseClass, now: datetime):
    if not is_enrolled(person, course_class):
        raise CertificateError(
            "not_enrolled", _l("%(name)s is not enrolled in this class."), name=person.full_name
        )
    eligibility = check_eligibility(person, course_class, now=now)
    if not eligibility.eligible:
        raise CertificateError(
            "not_eligible",
            _l("%(name)s is not eligible yet: %(summary)s"),
            name=person.full_name,
            summary=eligibility.summary,
        )
    return eligibility


def issue(*, actor: User, now: datetime, person: Person, course_class: CourseClass) -> Certificate:
    """Issue the class's certificate to one eligible learner who has never had one of it (a
    revoked certificate is replaced through :func:`reissue` only, so revoking sticks)."""
    require_issuer(actor, course_class.commune_id)
    require_finished(course_class)
    require_signer()
    if valid_certificate(person.id, course_class.id) is None and revoked_certificate(
        person.id, course_class.id
    ):
        raise CertificateError(
            "revoked_use_reissue",
            _l(
                "The certificate of %(name)s for this class was revoked. To give a new one, "
                "re-issue it from the revoked certificate's page."
            ),
            status=409,
            name=person.full_name,
        )
    certificate = _create(_eligible(person, course_class, now), actor=actor, now=now)
    db.session.flush()
    current_app.logger.info("certificate %s issued by %s", certificate.serial, actor.username)
    return certificate


def issue_all(*, actor: User, now: datetime, course_class: CourseClass) -> list[Certificate]:
    """Issue certificates to every eligible learner of the class who has never had one of it,
    in one transaction (the caller commits once); returns the new certificates. Learners
    whose certificate was revoked are left out: only :func:`reissue` gives them a new one."""
    require_issuer(actor, course_class.commune_id)
    require_finished(course_class)
    require_signer()
    have = certified_person_ids(course_class)
    issued = [
        _create(e, actor=actor, now=now)
        for e in class_eligibility(course_class, now=now)
        if e.eligible and e.person.id not in have
    ]
    db.session.flush()
    current_app.logger.info(
        "%d certificates of class %s issued by %s", len(issued), course_class.id, actor.username
    )
    return issued


def revoke(*, actor: User, now: datetime, certificate: Certificate, reason: str) -> Certificate:
    """Revoke a certificate; the reason is required (kept for staff, never shown publicly)."""
    require_issuer(actor, certificate.commune_id)
    reason = clean(reason)
    if not reason:
        raise CertificateError("reason_missing", _l("Say why the certificate is revoked."))
    if certificate.revoked_at is not None:
        raise CertificateError("already_revoked", _l("This certificate is already revoked."))
    certificate.revoked_at = now
    certificate.revoked_by_id = actor.id
    certificate.revoke_reason = reason[:300]
    db.session.flush()
    current_app.logger.info("certificate %s revoked by %s", certificate.serial, actor.username)
    return certificate


def reissue(
    *, actor: User, now: datetime, certificate: Certificate, reason: str = ""
) -> Certificate:
    """Replace a certificate with a new one (new serial, code and snapshot, e.g. after the
    name was corrected); the old one is revoked if it is not already."""
    require_issuer(actor, certificate.commune_id)
    person = db.session.get(Person, certificate.person_id)
    course_class = db.session.get(CourseClass, certificate.class_id)
    require_finished(course_class)
    require_signer()
    if replaced_by(certificate) is not None:
        raise CertificateError(
            "already_replaced", _l("This certificate has already been replaced."), status=409
        )
    eligibility = _eligible(person, course_class, now)  # under today's rule, before revoking
    if certificate.revoked_at is None:
        certificate.revoked_at = now
        certificate.revoked_by_id = actor.id
        certificate.revoke_reason = clean(reason)[:300] or "Cấp lại"
        db.session.flush()
    new = _create(eligibility, actor=actor, now=now, replaces=certificate)
    db.session.flush()
    current_app.logger.info(
        "certificate %s re-issued as %s by %s", certificate.serial, new.serial, actor.username
    )
    return new


# --- reading and printing --------------------------------------------------------------------


def by_code(code: str) -> Certificate | None:
    """The certificate of a verification code (None when unknown)."""
    if not code or len(code) > 32:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.verify_code == code))


def issued_person_ids(course_class: CourseClass) -> set[int]:
    """Learners of the class who hold a valid certificate of it."""
    return set(
        db.session.scalars(
            select(Certificate.person_id).where(
                Certificate.class_id == course_class.id, Certificate.revoked_at.is_(None)
            )
        )
    )


def certified_person_ids(course_class: CourseClass) -> set[int]:
    """Learners of the class who hold or held a certificate of it (valid or revoked): nobody
    among them is waiting to be issued one."""
    return set(
        db.session.scalars(
            select(Certificate.person_id).where(Certificate.class_id == course_class.id)
        )
    )


def pending_count(course_class: CourseClass, eligibilities) -> int:
    """Eligible learners who have never had a certificate of the class."""
    have = certified_person_ids(course_class)
    return sum(1 for e in eligibilities if e.eligible and e.person.id not in have)


def replaced_by(certificate: Certificate) -> Certificate | None:
    """The certificate issued in place of this one, if any."""
    return db.session.scalar(select(Certificate).where(Certificate.replaces_id == certificate.id))


def print_order(certificates: Iterable[Certificate]) -> list[Certificate]:
    """Village by village (in the commune's village order), then Vietnamese name order."""
    certificates = list(certificates)
    people = {
        p.id: p
        for p in db.session.scalars(
            select(Person).where(Person.id.in_({c.person_id for c in certificates}))
        )
    }
    villages = {
        v.id: v
        for v in db.session.scalars(
            select(Village).where(Village.id.in_({p.village_id for p in people.values()}))
        )
    }

    def key(c: Certificate):
        person = people[c.person_id]
        village = villages[person.village_id]
        return (village.position, village.name, person.sort_key, c.serial)

    return sorted(certificates, key=key)


def class_certificates(course_class: CourseClass, *, valid_only: bool = False):
    """The class's certificates (all, or only the valid ones), in printing order."""
    stmt = select(Certificate).where(Certificate.class_id == course_class.id)
    if valid_only:
        stmt = stmt.where(Certificate.revoked_at.is_(None))
    return print_order(db.session.scalars(stmt))


def village_certificates(village: Village) -> list[Certificate]:
    """The valid certificates of a village's people, in printing order."""
    stmt = (
        select(Certificate)
        .join(Person, Person.id == Certificate.person_id)
        .where(Person.village_id == village.id, Certificate.revoked_at.is_(None))
    )
    return print_order(db.session.scalars(stmt))


def log_prints(
    *,
    actor: User,
    now: datetime,
    certificates: Sequence[Certificate],
    scope: str,
    kind: PrintKind = PrintKind.DOWNLOAD,
) -> str:
    """Record what was done with ``certificates`` in the print log, as what it is: a PDF
    downloaded (``PrintKind.DOWNLOAD``; whether it is then printed, and how often, the app
    cannot know) or the print view opened to print from the browser (``PrintKind.PRINT``).
    One row per certificate, all with one batch id, which is returned."""
    batch = secrets.token_hex(8)
    db.session.add_all(
        PrintLog(
            certificate_id=c.id,
            batch=batch,
            kind=PrintKind(kind),
            scope=scope[:40],
            printed_by_id=actor.id,
            printed_at=now,
        )
        for c in certificates
    )
    db.session.flush()
    return batch


def prints_of(certificate: Certificate) -> list[PrintLog]:
    """Every time the certificate was downloaded or printed, newest first."""
    return list(
        db.session.scalars(
            select(PrintLog)
            .where(PrintLog.certificate_id == certificate.id)
            .order_by(PrintLog.printed_at.desc(), PrintLog.id.desc())
        )
    )
