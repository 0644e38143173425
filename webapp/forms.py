"""Form base shared by every domain: all text input is normalised to Unicode NFC."""

from flask_wtf import FlaskForm

from webapp.text import clean


def _normalise(value):
    return clean(value) if isinstance(value, str) else value


class BaseForm(FlaskForm):
    """FlaskForm whose string inputs arrive trimmed and NFC-normalised."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            options["filters"] = (_normalise, *options.get("filters", ()))
            return unbound_field.bind(form=form, **options)
