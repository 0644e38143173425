"""Form base shared by every domain.

- All text input goes through :func:`webapp.text.clean` (one-line fields: controls and
  invisible characters dropped, NFC, trimmed, whitespace collapsed) or
  :func:`webapp.text.clean_lines` (multi-line fields keep their line breaks) — on every field,
  hidden fields and select values included; passwords are left exactly as typed (they are
  only hashed, never stored or shown).
- WTForms' own messages ("Not a valid integer value." …) are translated through our
  catalogues: WTForms ships no Vietnamese.
"""

from flask_babel import get_translations, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

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
