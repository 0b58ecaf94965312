"""Forms for signing in, passwords, two-factor authentication and user administration."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp, ValidationError

from panel.accounts.models import PanelRoleKind, User
from panel.accounts.passwords import password_problems


class LoginForm(FlaskForm):
    email = EmailField("Work e-mail", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class TotpForm(FlaskForm):
    code = StringField(
        "6-digit code",
        validators=[
            DataRequired(),
            Regexp(
                r"^\s*\d{3}\s?\d{3}\s*$", message="Enter the 6 digits from your authenticator app."
            ),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True},
    )


class _NewPasswordMixin:
    def _user_inputs(self) -> list[str]:
        return []

    def validate_new_password(self, field):
        problems = password_problems(field.data or "", user_inputs=self._user_inputs())
        if problems:
            raise ValidationError(" ".join(problems))


class ResetRequestForm(FlaskForm):
    email = EmailField(
        "Work e-mail",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=320)],
    )


class SetPasswordForm(_NewPasswordMixin, FlaskForm):
    new_password = PasswordField(
        "New password", validators=[DataRequired()], render_kw={"autocomplete": "new-password"}
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new_password", message="The two passwords differ.")],
    )

    def __init__(self, *args, user: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._user = user

    def _user_inputs(self) -> list[str]:
        if self._user is None:
            return ["panel"]
        return ["panel", self._user.email, *self._user.name.split()]


class ChangePasswordForm(SetPasswordForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )


class UserForm(FlaskForm):
    """Create or edit a staff account (admins only)."""

    name = StringField("Full name", validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        "Work e-mail",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=320)],
    )
    centre_id = SelectField("Centre", coerce=int, validate_choice=True)
    is_referrer = BooleanField("Referring doctor (may refer cases from their centre)")
    is_admin = BooleanField("Administrator (manages people; sees no clinical content)")


class PanelRoleForm(FlaskForm):
    panel_id = SelectField("Panel", coerce=int, validate_choice=True)
    role = SelectField(
        "Role",
        choices=[(r.value, r.value.capitalize()) for r in PanelRoleKind],
        validate_choice=True,
    )


class PanelScopeForm(FlaskForm):
    """What a panel takes and its family words (admins only; checked by
    :func:`panel.accounts.operations.update_panel_scope`)."""

    takes_iccc = StringField("ICCC-3 subgroups it takes", validators=[Length(max=200)])
    takes_morphology = StringField(
        "ICD-O-3 morphology codes it takes", validators=[Length(max=500)]
    )
    takes_words = StringField("What it takes, in words", validators=[Length(max=200)])
    takes_source = TextAreaField(
        "Source of the scope (and its date)", validators=[Length(max=4000)]
    )
    family_words = TextAreaField(
        "Who the panel is, in the family letter's words", validators=[Length(max=600)]
    )
    family_words_source = TextAreaField(
        "Source of these words (and its date)", validators=[Length(max=4000)]
    )


class ConfirmForm(FlaskForm):
    """An empty form: a button that needs the CSRF token."""
