"""Account forms."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from webapp.forms import BaseForm
from webapp.people.names import FullName


class LoginForm(BaseForm):
    username = StringField(_l("User name"), validators=[DataRequired(_l("Enter your user name."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])


class NewPasswordMixin:
    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Enter a password.")),
            Length(min=8, message=_l("The password must have at least 8 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[EqualTo("password", message=_l("The two passwords are not the same."))],
    )


class UserForm(NewPasswordMixin, BaseForm):
    username = StringField(
        _l("User name"),
        description=_l("Lower-case letters and digits, for example gv.hoa"),
        validators=[DataRequired(_l("Enter a user name.")), Length(max=64)],
    )
    full_name = StringField(_l("Full name"), validators=[FullName()])
    role = SelectField(_l("Role"), validators=[DataRequired(_l("Choose a role."))])
    commune_id = SelectField(_l("Commune"), coerce=int)
    village_id = SelectField(
        _l("Village (village leads only)"),
        coerce=lambda v: int(v) if v not in (None, "", "None") else None,
        validators=[Optional()],
    )
    province_wide = BooleanField(_l("Sees every commune of the province"))


class ResetPasswordForm(NewPasswordMixin, BaseForm):
    pass


class DisableUserForm(BaseForm):
    reason = StringField(
        _l("Reason (kept with the account)"),
        description=_l("For example: left the programme in November"),
        validators=[Optional(), Length(max=200)],
    )
