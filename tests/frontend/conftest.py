"""Dashboard tests: members of two organizations, each with a logged-in client."""

from __future__ import annotations

import pytest
from django.test import Client

from assistants.models import Membership
from tests.factories import MembershipFactory


def client_for(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


@pytest.fixture
def owner(org):
    return MembershipFactory(organization=org, role=Membership.Role.OWNER)


@pytest.fixture
def admin_member(org):
    return MembershipFactory(organization=org, role=Membership.Role.ADMIN)


@pytest.fixture
def member(org):
    return MembershipFactory(organization=org, role=Membership.Role.MEMBER)


@pytest.fixture
def outsider(other_org):
    """An owner of another organization: every object of ``org`` is a 404 to them."""
    return MembershipFactory(organization=other_org, role=Membership.Role.OWNER)


@pytest.fixture
def owner_client(owner) -> Client:
    return client_for(owner)


@pytest.fixture
def admin_client_(admin_member) -> Client:
    return client_for(admin_member)


@pytest.fixture
def member_client(member) -> Client:
    return client_for(member)


@pytest.fixture
def outsider_client(outsider) -> Client:
    return client_for(outsider)
