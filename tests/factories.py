from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from assistants.models import ApiKey, Assistant, Membership, Organization
from assistants.services import api_key_create
from sessions.models import Message, Session


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.MEMBER


class AssistantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assistant

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Assistant {n}")
    system_prompt = "You are helpful."


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    assistant = factory.SubFactory(AssistantFactory)
    organization = factory.SelfAttribute("assistant.organization")


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    session = factory.SubFactory(SessionFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    role = Message.Role.USER
    content = "Hello"


class ApiKeyFactory:
    """Keys are made through the service so they are hashed exactly as in production."""

    @staticmethod
    def with_secret(*, organization, kind=ApiKey.Kind.PRIVATE, **kwargs) -> tuple[ApiKey, str]:
        return api_key_create(organization=organization, name="test", kind=kind, **kwargs)


def append_message(*, session_id, role: str, content: str = "", **fields):
    """A message stored as the live runtime stores it (sessions/runtime/store.py)."""
    from sessions.runtime.store import message_append

    return message_append(session_id, role, {"content": content, **fields})
