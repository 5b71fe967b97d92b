"""Who is in an organization: inviting people by email, changing roles, removing members.

The rules of roles live here, so every door (the dashboard today) applies the same ones:
owners manage everyone; admins manage members and admins but never touch an owner nor make
one; an organization always keeps at least one owner. A refusal is ``MembershipRefused`` with
a sentence that can be shown as it is.

Invited people get a dashboard account, not the admin (that is for platform operators). A new
address gets an account without a usable password and a one-time link to choose one
(``set_password_link``); so does a member who never chose one when invited again (a lost mail).
"""

from __future__ import annotations

import logging
import re
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction

from assistants.accounts import set_password_link
from assistants.models import Membership, Organization
from assistants.services import membership_add

logger = logging.getLogger(__name__)

OWNER, ADMIN, MEMBER = Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.MEMBER
MANAGERS = (OWNER, ADMIN)


class MembershipRefused(Exception):
    """A change the rules of roles do not allow; ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Invitation:
    membership: Membership
    link_sent: bool  # the person has no password yet and got a link to choose one
    mailed: bool  # False when the mail could not be handed to the email backend


def grantable_roles(actor: Membership) -> list[str]:
    """The roles ``actor`` may give: owners any, admins member and admin, members none."""
    if actor.role == OWNER:
        return [MEMBER, ADMIN, OWNER]
    return [MEMBER, ADMIN] if actor.role == ADMIN else []


def may_manage(actor: Membership, target: Membership) -> bool:
    """Whether ``actor`` may change the role of ``target`` or remove them."""
    if actor.role not in MANAGERS:
        return False
    return target.role != OWNER or actor.role == OWNER


def member_invite(
    *, organization: Organization, email: str, role: str, invited_by: Membership, base_url: str
) -> Invitation:
    """Add the person with ``email`` (an account is made for a new address) and mail them."""
    _check_may_grant(invited_by, role)
    with transaction.atomic():
        user = _user_with_email(email) or _user_create(email)
        if _membership_of(organization, user) is not None:
            return _invite_again(organization, user, invited_by, base_url)
        membership = membership_add(organization=organization, user=user, role=role)
    has_password = user.has_usable_password()
    link = None if has_password else set_password_link(user=user, base_url=base_url)
    mailed = _mail_invitation(membership, invited_by=invited_by, link=link, base_url=base_url)
    return Invitation(membership=membership, link_sent=link is not None, mailed=mailed)


def _invite_again(
    organization: Organization, user: User, invited_by: Membership, base_url: str
) -> Invitation:
    """Someone already in: only one who never chose a password gets a fresh link."""
    membership = _membership_of(organization, user)
    assert membership is not None
    if user.has_usable_password():
        raise MembershipRefused(
            f"{user.email} is already a member of {organization.name}; "
            "change their role in the list instead."
        )
    link = set_password_link(user=user, base_url=base_url)
    mailed = _mail_invitation(membership, invited_by=invited_by, link=link, base_url=base_url)
    return Invitation(membership=membership, link_sent=True, mailed=mailed)


@transaction.atomic
def membership_role_change(
    *, membership: Membership, role: str, changed_by: Membership
) -> Membership:
    membership = _locked(membership)
    _check_may_manage(changed_by, membership)
    _check_may_grant(changed_by, role)
    if membership.role == OWNER and role != OWNER:
        _check_another_owner_stays(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, removed_by: Membership) -> None:
    membership = _locked(membership)
    _check_may_manage(removed_by, membership)
    if membership.role == OWNER:
        _check_another_owner_stays(membership)
    membership.delete()


def _check_may_grant(actor: Membership, role: str) -> None:
    if role not in Membership.Role.values:
        raise MembershipRefused(f"There is no role {role!r}.")
    if role == OWNER and actor.role != OWNER:
        raise MembershipRefused("Only an owner can make someone an owner.")
    if role not in grantable_roles(actor):
        raise MembershipRefused("Only owners and admins can invite people or change roles.")


def _check_may_manage(actor: Membership, target: Membership) -> None:
    if actor.role not in MANAGERS:
        raise MembershipRefused("Only owners and admins can change roles or remove members.")
    if not may_manage(actor, target):
        raise MembershipRefused("Only an owner can change or remove an owner.")


def _check_another_owner_stays(leaving: Membership) -> None:
    """Refuse to take the last owner away. The owners are locked, so two owners demoting each
    other at once cannot both succeed."""
    owners = Membership.objects.for_org(leaving.organization_id).filter(role=OWNER)
    others = owners.select_for_update().exclude(pk=leaving.pk)
    if not list(others.values_list("pk", flat=True)):
        raise MembershipRefused(
            f"{leaving.organization.name} must keep at least one owner: "
            "make someone else an owner first."
        )


def _locked(membership: Membership) -> Membership:
    scoped = Membership.objects.for_org(membership.organization_id).select_for_update()
    return scoped.select_related("organization", "user").get(pk=membership.pk)


def _membership_of(organization: Organization, user: User) -> Membership | None:
    return Membership.objects.for_org(organization).filter(user=user).first()


def _user_with_email(email: str) -> User | None:
    return get_user_model().objects.filter(email__iexact=email).order_by("pk").first()


def _user_create(email: str) -> User:
    user_model = get_user_model()
    user = user_model(
        username=_free_username(email), email=user_model.objects.normalize_email(email)
    )
    user.set_unusable_password()
    user.save()
    return user


def _free_username(email: str) -> str:
    """The address's local part (as allowed in user names), numbered when already taken."""
    base = re.sub(r"[^\w.@+-]", "", email.split("@")[0])[:140] or "member"
    candidate, number = base, 2
    while get_user_model().objects.filter(username__iexact=candidate).exists():
        candidate, number = f"{base}{number}", number + 1
    return candidate


def _mail_invitation(
    membership: Membership, *, invited_by: Membership, link: str | None, base_url: str
) -> bool:
    """Hand the invitation to EMAIL_BACKEND; False (logged) when the backend refuses it."""
    organization, user = membership.organization, membership.user
    inviter = invited_by.user.email or invited_by.user.get_username()
    lines = [f"{inviter} added you to {organization.name} as {membership.role}.", ""]
    if link:
        days = settings.PASSWORD_RESET_TIMEOUT // 86_400
        lines += [f"Choose your password here (the link works once, within {days} days):", link]
    else:
        lines += [
            f"Sign in at {base_url.rstrip('/')}/ and pick {organization.name} in the switcher."
        ]
    lines += ["", f"Your sign-in: {user.email} (or the user name {user.get_username()})."]
    try:
        send_mail(
            subject=f"You are invited to {organization.name} on the voice platform",
            message="\n".join(lines) + "\n",
            from_email=None,
            recipient_list=[user.email],
        )
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("invitation mail to membership %s not sent: %s", membership.pk, exc)
        return False
    return True
