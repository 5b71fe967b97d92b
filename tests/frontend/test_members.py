"""/members/: everyone sees who is in; owners and admins invite, change roles and remove, by the
rules of roles (assistants/invitations.py); another organization's membership is a 404."""

from __future__ import annotations

import re
import smtplib

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client

from assistants.models import Membership
from tests.factories import MembershipFactory, UserFactory
from tests.frontend.conftest import client_for

pytestmark = pytest.mark.django_db

OWNER, ADMIN, MEMBER = Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.MEMBER
PASSWORD = "a-new-long-passphrase-42"
LINK = re.compile(r"https?://\S+?(/accounts/password/reset/key/\S+/)")


def role_url(membership: Membership) -> str:
    return f"/members/{membership.pk}/role/"


def remove_url(membership: Membership) -> str:
    return f"/members/{membership.pk}/remove/"


def role_of(membership: Membership) -> str | None:
    found = Membership.objects.for_org(membership.organization).filter(pk=membership.pk).first()
    return found.role if found else None


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("the mail server hung up")


# Who sees what


def test_everyone_sees_the_members_but_only_managers_may_invite(member_client, owner, member):
    page = member_client.get("/members/")
    assert page.status_code == 200
    html = page.content.decode()
    assert owner.user.email in html and member.user.email in html
    assert "Send invitation" not in html and 'name="role"' not in html


def test_a_member_may_not_invite_change_roles_or_remove(member_client, owner, member):
    assert member_client.post("/members/invite/", {"email": "x@example.com"}).status_code == 403
    assert member_client.post(role_url(owner), {"role": MEMBER}).status_code == 403
    assert member_client.get(remove_url(owner)).status_code == 403
    assert member_client.post(remove_url(owner)).status_code == 403
    assert role_of(owner) == OWNER
    assert not get_user_model().objects.filter(email="x@example.com").exists()


def test_an_admin_is_offered_member_and_admin_but_not_owner(admin_client_, owner, member):
    page = admin_client_.get("/members/")
    html = page.content.decode()
    assert "Send invitation" in html
    assert page.context["invite_form"].fields["role"].choices == [
        (MEMBER, "Member"),
        (ADMIN, "Admin"),
    ]
    managed = {m.pk: manageable for m, manageable in page.context["rows"]}
    assert managed == {
        owner.pk: False,
        member.pk: True,
        page.context["request"].membership.pk: True,
    }


# Inviting


def test_a_new_address_gets_a_link_to_set_a_password_then_lands_in_the_organization(
    admin_client_, org
):
    response = admin_client_.post(
        "/members/invite/", {"email": "newbie@example.com", "role": MEMBER}, follow=True
    )
    assert response.status_code == 200
    assert "Invited newbie@example.com" in " ".join(messages_of(response))
    invited = get_user_model().objects.get(email="newbie@example.com")
    assert not invited.has_usable_password() and not invited.is_staff
    assert role_of(Membership.objects.for_org(org).get(user=invited)) == MEMBER

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["newbie@example.com"]
    assert org.name in mail.outbox[0].subject
    link = LINK.search(mail.outbox[0].body).group(1)

    client = Client()
    form = client.get(link, follow=True)
    assert 'name="password1"' in form.content.decode()
    client.post(form.redirect_chain[-1][0], {"password1": PASSWORD, "password2": PASSWORD})
    invited.refresh_from_db()
    assert invited.check_password(PASSWORD)
    assert 'name="password1"' not in Client().get(link, follow=True).content.decode()  # once

    signed_in = Client().post(
        "/accounts/login/", {"login": "newbie@example.com", "password": PASSWORD}, follow=True
    )
    assert signed_in.redirect_chain[-1][0] == "/"
    assert signed_in.status_code == 200
    assert signed_in.context["current_organization"] == org


def test_the_link_is_built_on_public_base_url_when_set(settings, owner_client):
    settings.PUBLIC_BASE_URL = "https://voice.example.com"
    owner_client.post("/members/invite/", {"email": "n@example.com", "role": ADMIN})
    assert "https://voice.example.com/accounts/password/reset/key/" in mail.outbox[0].body


def test_an_existing_user_is_added_at_once_and_told_by_email(owner_client, org, other_org):
    someone = MembershipFactory(organization=other_org).user
    response = owner_client.post(
        "/members/invite/", {"email": someone.email.upper(), "role": ADMIN}, follow=True
    )
    assert f"Added {someone.email.upper()}" in " ".join(messages_of(response))
    assert Membership.objects.for_org(org).get(user=someone).role == ADMIN
    assert get_user_model().objects.filter(email__iexact=someone.email).count() == 1
    assert mail.outbox[0].to == [someone.email]
    assert "/accounts/password/reset/key/" not in mail.outbox[0].body  # has a password
    assert (
        someone.email
        in client_for(Membership.objects.for_org(org).get(user=someone))
        .get("/members/")
        .content.decode()
    )


def test_an_address_whose_local_part_is_a_taken_user_name_still_gets_an_account(owner_client):
    UserFactory(username="bob", email="bob@elsewhere.example")
    response = owner_client.post("/members/invite/", {"email": "bob@example.com", "role": MEMBER})
    assert response.status_code == 302
    assert get_user_model().objects.get(email="bob@example.com").username == "bob2"


def test_someone_already_in_is_refused_on_the_form_and_keeps_their_role(admin_client_, owner):
    response = admin_client_.post("/members/invite/", {"email": owner.user.email, "role": MEMBER})
    assert response.status_code == 200
    assert "already a member" in response.content.decode()
    assert role_of(owner) == OWNER  # "inviting" is no back door to demoting an owner
    assert mail.outbox == []


def test_inviting_again_one_who_never_chose_a_password_resends_the_link(owner_client, org):
    owner_client.post("/members/invite/", {"email": "slow@example.com", "role": MEMBER})
    response = owner_client.post(
        "/members/invite/", {"email": "slow@example.com", "role": ADMIN}, follow=True
    )
    assert "choose a password" in " ".join(messages_of(response))
    assert [m.to for m in mail.outbox] == [["slow@example.com"], ["slow@example.com"]]
    assert LINK.search(mail.outbox[1].body)
    invited = Membership.objects.for_org(org).get(user__email="slow@example.com")
    assert invited.role == MEMBER  # the role is changed in the list, not by inviting


@pytest.mark.parametrize(
    "data, field",
    [
        ({"email": "not-an-address", "role": MEMBER}, "email"),
        ({"email": "", "role": MEMBER}, "email"),
        ({"email": "a@example.com", "role": "superhero"}, "role"),
        ({"email": "a@example.com", "role": OWNER}, "role"),  # admins may not make owners
    ],
)
def test_bad_invitations_are_field_errors(admin_client_, data, field):
    response = admin_client_.post("/members/invite/", data)
    assert response.status_code == 200
    assert response.context["invite_form"].errors[field]
    assert not get_user_model().objects.filter(email="a@example.com").exists()
    assert mail.outbox == []


def test_an_owner_may_invite_an_owner(owner_client, org):
    owner_client.post("/members/invite/", {"email": "co@example.com", "role": OWNER})
    assert Membership.objects.for_org(org).get(user__email="co@example.com").role == OWNER


def test_a_mail_server_that_refuses_is_said_not_a_500(settings, owner_client, org):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    response = owner_client.post(
        "/members/invite/", {"email": "lost@example.com", "role": MEMBER}, follow=True
    )
    assert response.status_code == 200
    assert "could not be sent" in " ".join(messages_of(response))
    assert Membership.objects.for_org(org).filter(user__email="lost@example.com").exists()


# Roles and removal


def test_an_admin_manages_members_and_admins(admin_client_, member):
    response = admin_client_.post(role_url(member), {"role": ADMIN}, follow=True)
    assert role_of(member) == ADMIN
    assert "is now admin" in " ".join(messages_of(response))
    admin_client_.post(role_url(member), {"role": MEMBER})
    assert role_of(member) == MEMBER
    assert admin_client_.post(remove_url(member)).status_code == 302
    assert role_of(member) is None


def test_an_admin_may_not_make_an_owner(admin_client_, member):
    response = admin_client_.post(role_url(member), {"role": OWNER}, follow=True)
    assert "Only an owner can make someone an owner." in messages_of(response)
    assert role_of(member) == MEMBER


def test_an_admin_may_not_touch_an_owner(admin_client_, owner):
    demoted = admin_client_.post(role_url(owner), {"role": MEMBER}, follow=True)
    assert "Only an owner can change or remove an owner." in messages_of(demoted)
    removed = admin_client_.post(remove_url(owner), follow=True)
    assert "Only an owner can change or remove an owner." in messages_of(removed)
    assert role_of(owner) == OWNER


def test_an_owner_makes_and_unmakes_owners(owner_client, member):
    owner_client.post(role_url(member), {"role": OWNER})
    assert role_of(member) == OWNER
    owner_client.post(role_url(member), {"role": ADMIN})
    assert role_of(member) == ADMIN


def test_the_last_owner_may_neither_step_down_nor_leave(owner_client, owner, admin_member):
    demoted = owner_client.post(role_url(owner), {"role": ADMIN}, follow=True)
    assert "must keep at least one owner" in " ".join(messages_of(demoted))
    left = owner_client.post(remove_url(owner), follow=True)
    assert "must keep at least one owner" in " ".join(messages_of(left))
    assert role_of(owner) == OWNER


def test_an_owner_may_leave_while_another_owner_stays(owner_client, owner, org):
    second = MembershipFactory(organization=org, role=OWNER)
    response = owner_client.post(remove_url(owner))
    assert role_of(owner) is None and role_of(second) == OWNER
    assert response["Location"] == "/"  # in no organization now: the dashboard says so
    assert "not in an organization" in owner_client.get("/").content.decode()


def test_removing_asks_first(owner_client, member):
    page = owner_client.get(remove_url(member))
    assert page.status_code == 200
    assert member.user.email in page.content.decode()
    assert role_of(member) == MEMBER


def test_a_role_that_does_not_exist_is_said(owner_client, member):
    response = owner_client.post(role_url(member), {"role": "emperor"}, follow=True)
    assert "Choose one of the roles." in messages_of(response)
    assert role_of(member) == MEMBER


# Tenancy


def test_another_organizations_membership_is_a_404(outsider_client, owner, member):
    assert outsider_client.post(role_url(member), {"role": ADMIN}).status_code == 404
    assert outsider_client.get(remove_url(member)).status_code == 404
    assert outsider_client.post(remove_url(owner)).status_code == 404
    assert outsider_client.post("/members/999999/role/", {"role": ADMIN}).status_code == 404
    assert role_of(member) == MEMBER and role_of(owner) == OWNER


def test_the_list_shows_only_the_current_organizations_people(outsider_client, member):
    assert member.user.email not in outsider_client.get("/members/").content.decode()
