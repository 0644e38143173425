"""Read-side certificate queries, scoped to what the user may see."""

from sqlalchemy import select

from webapp.accounts.models import User
from webapp.certificates.models import Certificate
from webapp.extensions import db
from webapp.people.models import Person
from webapp.people.queries import scope_people


def get_certificate(user: User, certificate_id: int) -> Certificate:
    """The certificate, if it is of the user's commune and the user may see its holder (a
    village lead: their village's people; mentors: nobody); else 404, which does not confirm
    that it exists."""
    holders = scope_people(select(Person.id), user)
    stmt = select(Certificate).where(
        Certificate.id == certificate_id, Certificate.person_id.in_(holders)
    )
    if not user.province_wide:
        stmt = stmt.where(Certificate.commune_id == user.commune_id)
    return db.first_or_404(stmt)
