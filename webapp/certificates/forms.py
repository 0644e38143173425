"""Forms of the certificate pages (all POST, with CSRF)."""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional

from webapp.forms import BaseForm


class IssueForm(BaseForm):
    """Issue one learner's certificate (the learner is a hidden field of the row's button)."""

    person_id = HiddenField(validators=[DataRequired()])


class IssueAllForm(BaseForm):
    """Issue every eligible learner's certificate: only the CSRF token."""


# The revoke and re-issue forms share one page (/certificates/<id>) and both post ``reason``:
# each field has its own id, so each label names its own field.


class RevokeForm(BaseForm):
    reason = StringField(
        _l("Reason for revoking"),
        id="revoke-reason",
        description=_l("Kept in the records; not shown on the public verification page."),
        validators=[
            DataRequired(message=_l("Say why the certificate is revoked.")),
            Length(max=300),
        ],
    )


class ReissueForm(BaseForm):
    reason = StringField(
        _l("Reason for re-issuing"),
        id="reissue-reason",
        description=_l("For example: the name was corrected."),
        validators=[Optional(), Length(max=300)],
    )
