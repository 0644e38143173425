"""The rule for a person's full name, stated once: present, and at most :data:`NAME_MAX`
characters once cleaned (:func:`webapp.text.clean`).

The person form and any other form that takes a name use :class:`FullName`; the import
uses :func:`check_full_name` on its (already cleaned) cells; the services use
:func:`require_full_name`, which refuses with a :class:`~webapp.errors.DomainError`.
"""

from wtforms.validators import DataRequired, Length

from webapp.errors import DomainError
from webapp.i18n import lazy_text as _l
from webapp.text import clean

NAME_MAX = 120  # the length of Person.full_name (and of a sign-up request's)


class NameProblem(ValueError):
    """A full name that cannot be recorded: ``message`` for people (also ``args[0]``, as
    WTForms and the import read a ValueError) and a stable ``code``."""

    def __init__(self, code: str, message) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_full_name(name: str) -> str:
    """``name`` (cleaned already) when it can be recorded, else :class:`NameProblem`."""
    if not name:
        raise NameProblem("name_missing", _l("Full name is missing."))
    if len(name) > NAME_MAX:
        raise NameProblem("name_too_long", _l("The name is too long (at most 120 characters)."))
    return name


def require_full_name(text: str | None) -> str:
    """``text`` cleaned, when it is a full name that can be recorded; otherwise a refusal
    (:class:`DomainError` ``name_missing`` or ``name_too_long``)."""
    try:
        return check_full_name(clean(text))
    except NameProblem as problem:
        raise DomainError(problem.code, problem.message) from None


class FullName:
    """WTForms validator of a full name: required ("Enter the full name.") and at most
    :data:`NAME_MAX` characters (WTForms' length message); the input gets ``required`` and
    ``maxlength``."""

    field_flags = {"required": True, "maxlength": NAME_MAX}

    def __init__(self) -> None:
        self._required = DataRequired(_l("Enter the full name."))
        self._length = Length(max=NAME_MAX)

    def __call__(self, form, field) -> None:
        self._required(form, field)
        self._length(form, field)
