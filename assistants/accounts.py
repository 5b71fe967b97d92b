"""People signing in to the dashboard (django-allauth): who may sign up, and how an
organization's new owner gets a first password."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from assistants.models import Organization


class AccountAdapter(DefaultAccountAdapter):
    """Self-signup only where the operator opened it (SIGNUP_OPEN): by default, people get an
    account from an operator (create_organization --owner-email) or an organization's admin."""

    def is_open_for_signup(self, request) -> bool:
        return settings.SIGNUP_OPEN


def set_password_link(*, user, base_url: str) -> str:
    """A link where ``user`` chooses a password: allauth's password reset, so it works once
    (the token covers the password hash and the last login) and for PASSWORD_RESET_TIMEOUT."""
    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    return f"{base_url.rstrip('/')}{path}"


def owner_invitation_send(*, user, organization: Organization, link: str) -> None:
    """Mail a new owner the link, through Django's email backend (EMAIL_BACKEND)."""
    days = settings.PASSWORD_RESET_TIMEOUT // 86_400
    send_mail(
        subject=f"You own {organization.name} on the voice platform",
        message=(
            f"You are the owner of {organization.name}.\n\n"
            f"Choose your password here (the link works once, within {days} days):\n{link}\n\n"
            f"Then sign in with {user.email} or the user name {user.get_username()}.\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )
