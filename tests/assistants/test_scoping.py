"""Tenancy cannot be bypassed silently: ``Model.objects`` of every organization-owned model
refuses a query that declares no scope, while Django's own machinery keeps working."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import models
from django.db.models import Count
from django.forms import modelform_factory
from rest_framework import serializers

from assistants.models import ApiKey, Assistant, Membership, Organization
from assistants.scoping import DJANGO_INTERNALS_MANAGER, UnscopedQueryError
from assistants.services import api_key_create
from integrations.models import NotionConnection, ProviderCredential
from sessions.models import Message, Session
from tests.factories import (
    AssistantFactory,
    MembershipFactory,
    MessageFactory,
    OrganizationFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("assistants", "voice_sessions", "integrations")


def reaches_organization(model: type[models.Model], seen: frozenset = frozenset()) -> bool:
    """Whether rows of ``model`` belong to an organization: it is one, or a foreign key leads
    to one (directly or through another organization-owned model)."""
    if model is Organization:
        return True
    return any(
        field.many_to_one
        and field.related_model not in seen
        and reaches_organization(field.related_model, seen | {model})
        for field in model._meta.get_fields()
    )


ORG_OWNED = sorted(
    (
        model
        for label in PROJECT_APPS
        for model in apps.get_app_config(label).get_models()
        if reaches_organization(model)
    ),
    key=lambda model: model._meta.label,
)
by_name = pytest.mark.parametrize("model", ORG_OWNED, ids=lambda model: model.__name__)


def one_row_per_model(organization: Organization) -> dict[type[models.Model], models.Model]:
    """One row of every organization-owned model for ``organization``. A new model must be
    added here, or every test that uses ``world`` fails with its name."""
    assistant = AssistantFactory(organization=organization)
    session = SessionFactory(assistant=assistant)
    return {
        Organization: organization,
        Membership: MembershipFactory(organization=organization),
        ApiKey: api_key_create(organization=organization, name="k")[0],
        Assistant: assistant,
        Session: session,
        Message: MessageFactory(session=session),
        NotionConnection: NotionConnection.objects.create(
            organization=organization, name="wiki", token="ntn_x"
        ),
        ProviderCredential: ProviderCredential.objects.create(
            organization=organization, provider="openai", api_key="sk-x"
        ),
    }


@pytest.fixture
def world() -> dict[str, dict[type[models.Model], models.Model]]:
    return {name: one_row_per_model(OrganizationFactory(name=name)) for name in ("acme", "globex")}


def test_the_registry_walk_finds_every_organization_owned_model():
    assert {model.__name__ for model in ORG_OWNED} >= {
        "Organization",
        "Membership",
        "ApiKey",
        "Assistant",
        "Session",
        "Message",
        "NotionConnection",
        "ProviderCredential",
    }


# ---- objects refuses what declares no scope -----------------------------------------------

EVALUATIONS: dict[str, Callable[[Any], Any]] = {
    "list": lambda objects: list(objects.all()),
    "filter-first": lambda objects: objects.filter(pk__isnull=False).first(),
    "get": lambda objects: objects.get(pk=0),
    "count": lambda objects: objects.count(),
    "exists": lambda objects: objects.exists(),
    "aggregate": lambda objects: objects.aggregate(n=Count("pk")),
    "values_list": lambda objects: list(objects.values_list("pk", flat=True)),
    "iterator": lambda objects: list(objects.iterator()),
    "in_bulk": lambda objects: objects.in_bulk(),
    "update": lambda objects: objects.filter(pk=0).update(),
    "delete": lambda objects: objects.filter(pk=0).delete(),
    "get_or_create": lambda objects: objects.get_or_create(pk=0),
}


@by_name
@pytest.mark.parametrize("evaluate", EVALUATIONS.values(), ids=EVALUATIONS.keys())
def test_objects_refuses_a_query_without_a_scope(model, evaluate):
    with pytest.raises(UnscopedQueryError) as caught:
        evaluate(model.objects)
    message = str(caught.value)
    name = model.__name__
    assert f"{name}.objects.for_org(organization)" in message
    assert f"{name}.objects.unscoped()" in message


async def test_the_async_api_refuses_too():
    with pytest.raises(UnscopedQueryError):
        await Session.objects.acount()
    with pytest.raises(UnscopedQueryError):
        await Session.objects.filter(status="active").afirst()
    with pytest.raises(UnscopedQueryError):
        [session async for session in Session.objects.all()]
    with pytest.raises(UnscopedQueryError):
        [session async for session in Session.objects.aiterator()]


def test_the_repr_of_an_unscoped_query_runs_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert "no tenant scope" in repr(Session.objects.filter(status="active"))


def test_an_empty_query_needs_no_scope(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert list(Session.objects.none()) == []
        assert list(Session.objects.for_org(None)) == []


# ---- scoped and unscoped access return what they say -------------------------------------


@by_name
def test_for_org_returns_that_organizations_rows_only(model, world):
    acme, globex = world["acme"], world["globex"]
    assert list(model.objects.for_org(acme[Organization])) == [acme[model]]
    assert list(model.objects.for_org(globex[Organization].pk)) == [globex[model]]


@by_name
def test_for_orgs_and_unscoped_return_every_named_organizations_rows(model, world):
    both = {world["acme"][model], world["globex"][model]}
    organizations = [world["acme"][Organization], world["globex"][Organization]]
    assert set(model.objects.for_orgs(organizations)) == both
    assert set(model.objects.for_orgs(Organization.objects.unscoped())) == both
    assert set(model.objects.unscoped()) == both


def test_a_scope_survives_chaining(world):
    acme = world["acme"]
    sessions = Session.objects.for_org(acme[Organization]).filter(status="created")
    assert list(sessions.order_by("-created_at").select_related("assistant")) == [acme[Session]]
    assert sessions.values_list("pk", flat=True).get() == acme[Session].pk
    assert Assistant.objects.for_org(acme[Organization]).live().count() == 1
    assert ApiKey.objects.unscoped().active().count() == 2


def test_scoped_writes_touch_only_that_organization(world):
    acme, globex = world["acme"], world["globex"]
    Session.objects.for_org(acme[Organization]).update(status="ended")
    Message.objects.for_org(globex[Organization]).delete()
    assert Session.objects.unscoped().get(pk=globex[Session].pk).status == "created"
    assert list(Message.objects.unscoped()) == [acme[Message]]


def test_creating_needs_no_scope(org):
    assistant = Assistant.objects.create(organization=org, name="Created")
    Session.objects.bulk_create([Session(organization=org, assistant=assistant)])
    assert Session.objects.for_org(org).get().assistant == assistant


# ---- what reaches rows through a scoped parent, and Django's machinery -------------------


def test_related_managers_of_an_instance_need_no_scope(world):
    acme = world["acme"]
    session, organization = acme[Session], acme[Organization]
    assert list(session.messages.all()) == [acme[Message]]
    assert list(organization.assistants.live()) == [acme[Assistant]]
    assert organization.sessions.count() == 1
    assert list(acme[Assistant].sessions.filter(status="created")) == [session]
    acme[ApiKey].allowed_assistants.set([acme[Assistant]])
    assert list(acme[ApiKey].allowed_assistants.all()) == [acme[Assistant]]
    prefetched = Session.objects.for_org(organization).prefetch_related("messages").get()
    assert list(prefetched.messages.all()) == [acme[Message]]
    assert acme[Message].session.assistant.organization == organization


@by_name
def test_djangos_default_manager_is_the_plain_internals_manager(model, world):
    assert model._meta.default_manager_name == DJANGO_INTERNALS_MANAGER
    assert model._default_manager.name == DJANGO_INTERNALS_MANAGER
    assert model._default_manager.count() == 2


def test_full_clean_checks_uniqueness_across_organizations(world):
    acme, globex = world["acme"], world["globex"]
    taken_slug = Organization(name="Copy", slug=acme[Organization].slug)
    second_membership = Membership(
        user=acme[Membership].user, organization=acme[Organization], role="member"
    )
    same_sequence = Message(session=acme[Session], sequence=acme[Message].sequence, role="user")
    credential_again = ProviderCredential(
        organization=globex[Organization], provider="openai", api_key="k"
    )
    for duplicate, field in [
        (taken_slug, "slug"),
        (second_membership, "__all__"),
        (same_sequence, "__all__"),
        (credential_again, "__all__"),
    ]:
        with pytest.raises(ValidationError) as caught:
            duplicate.full_clean()
        assert list(caught.value.message_dict) == [field]
        assert "already exists" in caught.value.message_dict[field][0]
    Membership(user=acme[Membership].user, organization=globex[Organization]).full_clean()


def test_deleting_cascades_through_the_internal_managers(world):
    world["acme"][Session].delete()  # PROTECT keeps an assistant's sessions from going silently
    world["acme"][Organization].delete()
    for model in ORG_OWNED:
        assert list(model.objects.unscoped()) == [world["globex"][model]]


def test_model_forms_and_serializers_choose_related_rows(world):
    acme = world["acme"]
    form_class = modelform_factory(Session, fields=["organization", "assistant"])
    data = {"organization": acme[Organization].pk, "assistant": acme[Assistant].pk}
    assert form_class(data=data).is_valid()

    class SessionSerializer(serializers.ModelSerializer):
        class Meta:
            model = Session
            fields = ["organization", "assistant"]

    assert SessionSerializer(data=data).is_valid()


def test_dumpdata_sees_every_organizations_rows(world):
    out = StringIO()
    call_command("dumpdata", "voice_sessions.session", stdout=out)
    assert str(world["acme"][Session].pk) in out.getvalue()
    assert str(world["globex"][Session].pk) in out.getvalue()


def test_no_module_reaches_rows_through_the_internals_manager():
    """Project code says ``objects.unscoped()``; the internals manager is Django's alone."""
    base = Path(settings.BASE_DIR)
    offenders = [
        str(path.relative_to(base))
        for package in ("assistants", "sessions", "integrations", "config", "bench", "simulators")
        for path in (base / package).rglob("*.py")
        if f".{DJANGO_INTERNALS_MANAGER}" in path.read_text()
    ]
    assert offenders == []
