"""Who may open the dashboard, and in which organization it works."""

from __future__ import annotations

import pytest
from django.test import Client

from assistants.models import Membership
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.frontend.conftest import client_for

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_sign_in():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_member_lands_on_the_overview_of_their_organization(member_client, org):
    response = member_client.get("/")
    assert response.status_code == 200
    assert org.name in response.content.decode()


def test_an_operator_in_no_organization_is_sent_to_the_admin():
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/")["Location"] == "/admin/"


def test_a_person_in_no_organization_is_told_so():
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/")
    assert response.status_code == 200
    assert "not in an organization" in response.content.decode()


def test_the_switcher_changes_the_organization_pages_work_in(member, org):
    second = OrganizationFactory(name="Second Org")
    MembershipFactory(user=member.user, organization=second)
    client = client_for(member)
    page = client.get("/").content.decode()
    assert "Second Org" in page  # offered in the switcher
    response = client.post("/organization/switch/", {"organization": str(second.pk)})
    assert response.status_code == 302
    assert client.get("/").context["current_organization"] == second


def test_switching_to_an_organization_one_is_not_in_is_a_404(member_client, other_org):
    response = member_client.post("/organization/switch/", {"organization": str(other_org.pk)})
    assert response.status_code == 404
    assert member_client.post("/organization/switch/", {"organization": "nope"}).status_code == 404


def test_a_stale_choice_falls_back_to_an_organization_one_is_in(member, org, other_org):
    client = client_for(member)
    session = client.session
    session["dashboard_organization_id"] = str(other_org.pk)
    session.save()
    assert client.get("/").context["current_organization"] == org


@pytest.mark.parametrize("path", ["/api-keys/", "/integrations/"])
def test_admin_pages_refuse_plain_members(member_client, admin_client_, path):
    assert member_client.get(path).status_code == 403
    assert admin_client_.get(path).status_code == 200


def test_navigation_shows_what_the_role_may_open(member_client, admin_client_):
    member_page = member_client.get("/").content.decode()
    admin_page = admin_client_.get("/").content.decode()
    assert 'href="/api-keys/"' not in member_page
    assert 'href="/api-keys/"' in admin_page
    assert 'aria-current="page">Overview' in member_page


def test_roles_rank_owner_over_admin_over_member():
    from frontend.organizations import has_role

    owner = Membership(role=Membership.Role.OWNER)
    member = Membership(role=Membership.Role.MEMBER)
    assert has_role(owner, Membership.Role.ADMIN)
    assert not has_role(member, Membership.Role.ADMIN)


def test_the_sign_in_page_offers_sign_up_only_when_it_is_open(settings):
    closed = Client().get("/accounts/login/").content.decode()
    assert "/accounts/signup/" not in closed
    assert "sends you a link" in closed
    settings.SIGNUP_OPEN = True
    assert "/accounts/signup/" in Client().get("/accounts/login/").content.decode()
