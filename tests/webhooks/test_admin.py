"""Webhook admin: the secret is shown once (on add and rotate), never on a page; pages are scoped
to the user's organizations; only owners and admins manage endpoints."""

from __future__ import annotations

import pytest
from django.urls import reverse

from assistants.models import Membership
from assistants.services import staff_grant_permissions
from sessions.runtime.store import message_append
from tests.factories import AssistantFactory, MembershipFactory, SessionFactory, UserFactory
from webhooks.models import Delivery, WebhookEndpoint
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db


def staff(org, role, name):
    user = UserFactory(username=name)
    staff_grant_permissions(user=user)
    MembershipFactory(user=user, organization=org, role=role)
    return user


def url(obj_or_model, view="change"):
    meta = obj_or_model._meta
    args = [obj_or_model.pk] if view == "change" else []
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


@pytest.fixture
def owner(org):
    return staff(org, Membership.Role.OWNER, "owner")


@pytest.fixture
def endpoint(org, allow_private):
    return endpoint_create(organization=org, url="http://127.0.0.1:9/hooks")


def test_adding_shows_the_secret_once_and_never_again(client, org, owner):
    client.force_login(owner)
    response = client.post(
        url(WebhookEndpoint, "add"),
        {
            "organization": org.pk,
            "url": "http://8.8.8.8/hooks",
            "enabled": "on",
            "event_types": "[]",
        },
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.for_org(org).get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()  # the confirmation message
    assert endpoint.secret not in client.get(url(endpoint)).content.decode()
    assert endpoint.secret not in client.get(url(WebhookEndpoint, "changelist")).content.decode()


def test_a_private_url_is_refused_with_a_field_error(client, org, owner):
    client.force_login(owner)
    response = client.post(
        url(WebhookEndpoint, "add"),
        {"organization": org.pk, "url": "http://10.1.2.3/hooks", "event_types": "[]"},
    )
    assert response.status_code == 200
    assert "not a public address" in response.content.decode()
    assert not WebhookEndpoint.objects.for_org(org).exists()


def test_rotate_action_shows_a_new_secret(client, owner, endpoint):
    client.force_login(owner)
    old = endpoint.secret
    response = client.post(
        url(WebhookEndpoint, "changelist"),
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in response.content.decode()


def test_the_delivery_log_is_scoped_and_readable(client, org, other_org, owner, endpoint):
    session = SessionFactory(assistant=AssistantFactory(organization=org))
    message_append(session.id, "user", {"content": "Hello"})
    delivery = Delivery.objects.for_org(org).get()
    client.force_login(owner)
    assert client.get(url(delivery)).status_code == 200
    outsider = staff(other_org, Membership.Role.OWNER, "outsider")
    client.force_login(outsider)
    assert client.get(url(delivery)).status_code == 404
    assert client.get(url(endpoint)).status_code == 404
    assert str(delivery.pk) not in client.get(url(Delivery, "changelist")).content.decode()


def test_members_cannot_manage_endpoints(client, org, endpoint):
    client.force_login(staff(org, Membership.Role.MEMBER, "member"))
    assert client.get(url(endpoint)).status_code in (403, 404)
