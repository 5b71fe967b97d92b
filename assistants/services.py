"""Writes for organizations, members, API keys and assistants."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from assistants.models import ApiKey, Assistant, Membership, Organization
from integrations.tools.signing import new_signing_secret
from sessions.tokens import api_key_group


def _unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "org"
    slug, suffix = base, 2
    # Slugs are unique across every organization, so the check must see them all.
    while Organization.objects.unscoped().filter(slug=slug).exists():
        slug, suffix = f"{base}-{suffix}", suffix + 1
    return slug


@transaction.atomic
def organization_create(*, name: str, slug: str | None = None, owner=None) -> Organization:
    organization = Organization(name=name, slug=slug or _unique_slug(name))
    organization.full_clean()
    organization.save()
    if owner is not None:
        Membership.objects.create(user=owner, organization=organization, role=Membership.Role.OWNER)
    return organization


def membership_add(*, organization: Organization, user, role: str = Membership.Role.MEMBER):
    membership, _ = Membership.objects.for_org(organization).update_or_create(
        user=user, organization=organization, defaults={"role": role}
    )
    return membership


STAFF_APPS = ("assistants", "voice_sessions", "integrations", "voicebridge", "webhooks")


def staff_grant_permissions(*, user) -> None:
    """Let a member use the admin; what they see there is still scoped to their organizations."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=STAFF_APPS))


def user_get_or_create(*, email: str):
    user_model = get_user_model()
    user = user_model.objects.filter(email__iexact=email).first()
    if user is None:
        user = user_model.objects.create_user(username=email.split("@")[0][:150], email=email)
        staff_grant_permissions(user=user)
    return user


@transaction.atomic
def api_key_create(
    *,
    organization: Organization,
    name: str,
    kind: str = ApiKey.Kind.PRIVATE,
    allowed_origins: list[str] | None = None,
    allowed_assistants: list[Assistant] | None = None,
    created_by=None,
) -> tuple[ApiKey, str]:
    """Create a key. Returns it with the raw secret, which exists only in this return value."""
    api_key = ApiKey(
        organization=organization,
        name=name,
        kind=kind,
        allowed_origins=allowed_origins or [],
        created_by=created_by,
    )
    raw_key = api_key.set_new_secret()
    # Keys of one organization are created one at a time, so two at once cannot both pass the
    # cap on active keys (ApiKey.clean).
    Organization.objects.for_org(organization).select_for_update().get()
    api_key.full_clean()
    api_key.save()
    if allowed_assistants:
        api_key.allowed_assistants.set(allowed_assistants)
    return api_key, raw_key


def api_key_issue(
    *,
    organization: Organization,
    name: str,
    kind: str = ApiKey.Kind.PRIVATE,
    allowed_origins: list[str] | None = None,
    allowed_assistant_ids: list | None = None,
    created_by=None,
) -> tuple[ApiKey, str]:
    """Create a key from API input: assistant ids are resolved within the organization only, and
    only public keys carry origin and assistant limits (a public key needs an assistant)."""
    allowed_origins, allowed_assistant_ids = allowed_origins or [], allowed_assistant_ids or []
    if kind == ApiKey.Kind.PRIVATE:
        only_public = "Only public keys are limited to origins and assistants."
        errors = {"allowed_origins": only_public} if allowed_origins else {}
        if allowed_assistant_ids:
            errors["allowed_assistant_ids"] = only_public
        if errors:
            raise ValidationError(errors)
    elif not allowed_assistant_ids:
        raise ValidationError(
            {"allowed_assistant_ids": "A public key needs at least one assistant."}
        )
    assistants = list(
        Assistant.objects.for_org(organization).live().filter(pk__in=allowed_assistant_ids)
    )
    missing = sorted(set(map(str, allowed_assistant_ids)) - {str(a.pk) for a in assistants})
    if missing:
        raise ValidationError({"allowed_assistant_ids": [f"No assistant {pk}." for pk in missing]})
    return api_key_create(
        organization=organization,
        name=name,
        kind=kind,
        allowed_origins=allowed_origins,
        allowed_assistants=assistants,
        created_by=created_by,
    )


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key, and with it the WebSocket tokens it minted: open connections end (4401)."""
    api_key.revoke()
    api_key.save(update_fields=["revoked_at"])
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is always configured (config/settings.py)"
    async_to_sync(layer.group_send)(api_key_group(api_key.pk), {"type": "api_key.revoked"})
    return api_key


def assistant_create(*, organization: Organization, **fields: Any) -> Assistant:
    assistant = Assistant(organization=organization, **fields)
    assistant.full_clean()
    assistant.save()
    return assistant


def assistant_update(*, assistant: Assistant, **fields: Any) -> Assistant:
    for name, value in fields.items():
        setattr(assistant, name, value)
    assistant.full_clean()
    assistant.save()
    return assistant


def assistant_rotate_tool_signing_secret(*, assistant: Assistant) -> str:
    """Give the assistant a new secret for signing its custom tool calls; the old one stops
    working at once. Returns the new secret, which is shown only this once."""
    secret = new_signing_secret()
    assistant.tool_signing_secret = secret
    assistant.save(update_fields=["tool_signing_secret", "updated_at"])
    return secret


def assistant_archive(*, assistant: Assistant) -> None:
    """Delete an assistant for its users; its sessions and transcripts stay readable."""
    if assistant.sessions.exists():
        assistant.archived_at = timezone.now()
        assistant.save(update_fields=["archived_at", "updated_at"])
    else:
        assistant.delete()
