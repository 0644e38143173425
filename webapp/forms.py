"""Form base shared by every domain.

- All text input goes through :func:`webapp.text.clean` (one-line fields: controls and
  invisible characters dropped, NFC, trimmed, whitespace collapsed) or
  :func:`webapp.text.clean_lines` (multi-line fields keep their line breaks) — on every field,
  hidden fields and select values included; passwords are left exactly as typed (they are
  only hashed, never stored or shown).
- WTForms' own messages ("Not a valid integer value." …) are translated through our
  catalogues: WTForms ships no Vietnamese.
- :func:`attempt` is how a view runs a state change: commit when the service returns; when a
  rule refuses (:class:`~webapp.errors.DomainError`), roll back, let 403/404 become error
  pages, and keep the message for the page (on the form, as a flash, or in a fragment).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import flash
from flask_babel import get_translations, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, StringField, TextAreaField
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields.choices import SelectChoice

from webapp.errors import DomainError
from webapp.extensions import db
from webapp.text import clean, clean_lines


def _one_line(value):
    return clean(value) if isinstance(value, str) else value


def _multi_line(value):
    return clean_lines(value) if isinstance(value, str) else value


class _CatalogueTranslations:
    """WTForms asks for gettext/ngettext without formatting; answer from our catalogue."""

    def gettext(self, string: str) -> str:
        return get_translations().gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ngettext(singular, plural, n)


TRANSLATIONS = _CatalogueTranslations()


class ParsedTextField(StringField):
    """A value typed the way people here write it (05/08/2025, 1,5, 8h30), parsed on submit.

    Subclasses give ``parse`` (raise ValueError when impossible), ``format`` and the
    ``message`` shown on error; what was typed is shown back as typed.
    """

    message = _l("Invalid input.")

    def parse(self, text: str):
        raise NotImplementedError

    def format(self, value) -> str:
        return str(value)

    def process_formdata(self, valuelist):
        self.raw = valuelist[0].strip() if valuelist else ""
        self.data = None
        if self.raw:
            try:
                self.data = self.parse(self.raw)
            except ValueError:
                raise ValueError(self.message) from None

    def _value(self):
        if getattr(self, "raw", None):
            return self.raw
        return "" if self.data is None else self.format(self.data)


class YearField(IntegerField):
    """A year of four digits at most (a 400-digit number would overflow the range check)."""

    def process_formdata(self, valuelist):
        if valuelist and len(valuelist[0].strip()) > 4:
            self.data = None
            raise ValueError(_l("Enter a year such as 1958."))
        super().process_formdata(valuelist)


def options(pairs) -> list[SelectChoice]:
    """Choices of a select field from ``(value, label)`` pairs (WTForms 3.3 deprecates tuples)."""
    return [p if isinstance(p, SelectChoice) else SelectChoice(*p) for p in pairs]


class BaseForm(FlaskForm):
    """FlaskForm with NFC-normalised input and translated built-in messages."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            if issubclass(unbound_field.field_class, CSRFTokenField):
                # Every form of a page carries one: no id, or a page of two forms repeats it.
                options["render_kw"] = {"id": False}
                return unbound_field.bind(form=form, **options)
            if issubclass(unbound_field.field_class, PasswordField):
                normalise = None
            elif issubclass(unbound_field.field_class, TextAreaField):
                normalise = _multi_line
            else:
                normalise = _one_line
            if normalise is not None:
                options["filters"] = (normalise, *options.get("filters", ()))
            return unbound_field.bind(form=form, **options)

        def get_translations(self, form):
            return TRANSLATIONS


class Refusal:
    """What :func:`attempt` saw: false when the change was committed, true when refused."""

    error: DomainError | None = None

    def __bool__(self) -> bool:
        return self.error is not None

    @property
    def message(self) -> str | None:
        return None if self.error is None else self.error.message

    @property
    def status(self) -> int:
        """The rule's status when refused (400, 409, 422, 429 …), else 200."""
        return 200 if self.error is None else self.error.status


@contextmanager
def attempt(form: FlaskForm | None = None, *, flashed: bool = False) -> Iterator[Refusal]:
    """Run one state change as a unit of work; the view's single place to refuse.

    ``with attempt(form) as refused: service(...)`` commits when the block ends normally. When
    the block raises a :class:`DomainError` the session is rolled back and, for 403 and 404,
    the error goes on to the error handler (an error page, or an htmx fragment). Any other
    refusal is swallowed and kept on the yielded :class:`Refusal` — and put in
    ``form.form_errors`` (its status on the form, see :func:`page_status`) when a form is given,
    or flashed as an error when ``flashed``. After the block, ``if refused:`` tells the view
    which page to answer with.
    """
    outcome = Refusal()
    try:
        yield outcome
    except DomainError as error:
        db.session.rollback()
        if error.status in (403, 404):
            raise
        outcome.error = error
        if form is not None:
            form.form_errors.append(error.message)
            form.refusal_status = error.status
        if flashed:
            flash(error.message, "error")
    else:
        db.session.commit()


def page_status(form: FlaskForm, refused: Refusal | None = None) -> int:
    """The status of a page that shows ``form``: the rule's for a refused change, 422 for a
    form with mistakes, else 200."""
    if refused:
        return refused.status
    if getattr(form, "refusal_status", None):
        return form.refusal_status
    return 422 if form.errors else 200


def _wtforms_messages() -> None:  # pragma: no cover — never called; marks the msgids
    """The WTForms messages our forms can show, so `make extract-messages` finds them."""
    gettext("This field is required.")
    gettext("Invalid input.")
    gettext("Not a valid integer value.")
    gettext("Not a valid decimal value.")
    gettext("Not a valid float value.")
    gettext("Not a valid date value.")
    gettext("Not a valid time value.")
    gettext("Not a valid choice.")
    gettext("Invalid Choice: could not coerce.")
    gettext("Invalid choice(s): one or more data inputs could not be coerced.")
    ngettext(
        "'%(value)s' is not a valid choice for this field.",
        "'%(value)s' are not valid choices for this field.",
        1,
    )
    ngettext(
        "Field must be at least %(min)d character long.",
        "Field must be at least %(min)d characters long.",
        1,
    )
    ngettext(
        "Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.",
        1,
    )
    gettext("Field must be between %(min)d and %(max)d characters long.")
    gettext("Number must be at least %(min)s.")
    gettext("Number must be at most %(max)s.")
    gettext("Number must be between %(min)s and %(max)s.")
    gettext("Invalid URL.")
    gettext("Invalid email address.")
