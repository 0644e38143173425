"""Who may do what in mentoring. Plain functions of the acting user and the object; no request.

- Organisers and admins (``MANAGERS``) of the commune manage every mentor and mentorship in
  it: make and end mentors, link their log-ins, assign, end and reassign mentees.
- A village lead manages their own village: mentors who work there (``Mentor.village_id``;
  a mentor without one, by the village they live in) and the mentorships of mentees who live
  there, given to a mentor of that village. Linking log-ins stays with the managers (they
  manage accounts). A lead reads the mentors of their village and the mentorships of its
  mentees (nobody outside their village, as in the people registry).
- A mentor (role mentor, with a log-in linked to their mentor record) reads only their own
  record and their own mentorships; they change none.
- Trainers have no part in mentoring.

``queries`` filters lists and loads records with the same rules (:func:`sees_mentor`,
:func:`sees_mentorship` are the rules for rows already loaded).
"""

from flask_babel import lazy_gettext as _l

from webapp.accounts.models import User
from webapp.mentoring.models import Mentor, MentoringError, Mentorship
from webapp.people.models import Person
from webapp.permissions import MANAGERS, Role

#: Roles that manage mentors and mentorships (each in their commune or village).
MENTORING_MANAGERS = MANAGERS | {Role.VILLAGE_LEAD}
#: Roles that read mentoring at all (a mentor: their own only).
MENTORING_READERS = MENTORING_MANAGERS | {Role.MENTOR}


def mentor_village_id(mentor: Mentor) -> int:
    """The village a mentor belongs to for scope: where they work, else where they live."""
    return mentor.home_village_id


def can_manage_village(actor: User, commune_id: int, village_id: int | None) -> bool:
    """Managers of the commune; a village lead for their own village only."""
    if actor.role in MANAGERS:
        return actor.works_in(commune_id)
    if actor.role == Role.VILLAGE_LEAD:
        return village_id is not None and actor.village_id == village_id
    return False


def can_manage_mentor(actor: User, mentor: Mentor) -> bool:
    """Whether the actor may change the mentor (end them, assign them mentees)."""
    return can_manage_village(actor, mentor.commune_id, mentor_village_id(mentor))


def can_manage_mentee(actor: User, person: Person) -> bool:
    """Whether the actor may give this person a mentor, or end or move their mentorship."""
    return can_manage_village(actor, person.commune_id, person.village_id)


def can_link_accounts(actor: User, commune_id: int) -> bool:
    """Only managers of the commune link a mentor's log-in (they manage the accounts)."""
    return actor.role in MANAGERS and actor.works_in(commune_id)


def is_own_mentor(actor: User, mentor: Mentor) -> bool:
    """Whether the mentor record is the actor's own (their linked log-in)."""
    return mentor.user_id is not None and mentor.user_id == actor.id


def sees_mentor(actor: User, mentor: Mentor) -> bool:
    """Whether ``queries.scope_mentors`` lets the actor see this mentor."""
    if actor.role == Role.MENTOR:
        return is_own_mentor(actor, mentor)
    if actor.role == Role.VILLAGE_LEAD:
        return actor.village_id == mentor_village_id(mentor)
    return actor.role in MANAGERS and actor.works_in(mentor.commune_id)


def sees_mentorship(actor: User, mentorship: Mentorship) -> bool:
    """Whether ``queries.scope_mentorships`` lets the actor see this mentorship."""
    if actor.role == Role.MENTOR:
        return is_own_mentor(actor, mentorship.mentor)
    if actor.role == Role.VILLAGE_LEAD:
        return actor.village_id == mentorship.person.village_id
    return actor.role in MANAGERS and actor.works_in(mentorship.commune_id)


def _refuse(message) -> MentoringError:
    return MentoringError("not_allowed", message, status=403)


def require_mentor_manager(actor: User, mentor: Mentor) -> None:
    """Raise 403 unless the actor may change this mentor (:func:`can_manage_mentor`)."""
    if not can_manage_mentor(actor, mentor):
        raise _refuse(_l("You may not change this mentor."))


def require_mentee_manager(actor: User, person: Person) -> None:
    """Raise 403 unless the actor may change this person's mentorship."""
    if not can_manage_mentee(actor, person):
        raise _refuse(_l("You may not change who mentors this person."))
