"""Tenancy for API views in one place.

Every API view that touches organization data subclasses ``OrganizationScopedAPIView``. Its
queryset is always ``model.objects.for_org(<the key's organization>)``; a view narrows it further
with ``scope_queryset`` but cannot widen it: overriding ``get_queryset`` or setting ``queryset``
fails at import time. Another organization's object is therefore simply absent: a 404.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from django.db import models
from django.shortcuts import get_object_or_404
from rest_framework import exceptions, serializers
from rest_framework.generics import GenericAPIView

from assistants.api.auth import ApiKeyUser
from assistants.models import Organization
from assistants.scoping import OrgScopedQuerySet, ScopeRequiredManager

_M = TypeVar("_M", bound=models.Model)


class OrganizationScopedAPIView(GenericAPIView[_M]):
    """Subclasses name their model twice, for Django and for the type checker:
    ``class SessionDetailView(OrganizationScopedAPIView[Session]): model = Session``."""

    #: the model served: organization-owned, its ``objects`` a ScopeRequiredManager
    model: type[_M]
    #: public (browser) keys may POST here; everything else with them is a 403
    public_key_allowed: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__ or cls.__dict__.get("queryset") is not None:
            raise TypeError(
                f"{cls.__name__}: narrow the organization's rows with scope_queryset(); "
                "get_queryset() and queryset are not overridable"
            )

    @property
    def organization(self) -> Organization:
        user = self.request.user
        if not isinstance(user, ApiKeyUser):  # the permission classes let only API keys in
            raise exceptions.NotAuthenticated()
        return user.organization

    def get_queryset(self) -> OrgScopedQuerySet[_M]:
        rows = _scoped_manager(self.model).get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request user
            return rows.none()
        return self.scope_queryset(rows.for_org(self.organization))

    def scope_queryset(self, queryset: OrgScopedQuerySet[_M]) -> OrgScopedQuerySet[_M]:
        return queryset

    def get_object(self) -> _M:
        obj = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, obj)
        return obj


def _scoped_manager(model: type[_M]) -> ScopeRequiredManager[_M]:
    manager = getattr(model, "objects", None)
    if not isinstance(manager, ScopeRequiredManager):
        raise TypeError(f"{model.__name__}.objects must be a ScopeRequiredManager")
    return manager


def validated(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> dict:
    """The validated data of a request body or query, or a 400 with per-field messages."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
