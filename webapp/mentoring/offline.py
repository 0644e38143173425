"""A mentor's meeting logged on an offline phone (docs/offline.md): the same fields the form
``/mentor/meeting/new`` posts, checked by the same form and logged by
:func:`webapp.mentoring.meetings.log_meeting` with the action's nonce as the meeting's."""

from dataclasses import replace
from datetime import datetime

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from webapp.accounts.models import User
from webapp.checkin import offline
from webapp.errors import DomainError
from webapp.learning import framework
from webapp.mentoring import meetings, queries
from webapp.mentoring.meeting_forms import MeetingForm


def meeting(action: dict, *, actor: User, now: datetime, at: datetime) -> offline.Outcome:
    """Log the queued meeting once, with who was there (their attendance at its start)."""
    fields = action.get("form")
    if not isinstance(fields, dict):
        raise offline.Invalid()
    mentor = queries.mentor_of(actor)
    if mentor is None:
        raise DomainError("not_allowed", _("You may not log meetings for this mentor."), status=403)
    mentees = [m.person for m in queries.my_mentees(actor)]
    names = framework.competency_names(framework.current_version())
    form = MeetingForm(
        formdata=_formdata(fields),
        mentees=mentees,
        competencies=names,
        now=now,
        meta={"csrf": False},
    )
    if not form.validate():
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        raise DomainError("invalid", " ".join(errors) or offline.Invalid().message)
    details = replace(form.details(mentees), nonce=action["nonce"])
    logged = meetings.log_meeting(actor=actor, now=now, mentor=mentor, details=details)
    return offline.Outcome(
        True,
        "recorded",
        _("The meeting is saved."),
        recorded_at=logged.starts_at,
        record_id=logged.id,
    )


def _formdata(fields: dict) -> MultiDict:
    """The posted fields as a form would send them (lists for the ticked boxes)."""
    pairs = []
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, str | int) and not isinstance(one, bool):
                pairs.append((str(name), str(one)))
    return MultiDict(pairs)


offline.HANDLERS["meeting"] = meeting
