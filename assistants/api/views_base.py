"""Tenancy for API views in one place.

Every API view that touches organization data subclasses ``OrganizationScopedAPIView``. Its
queryset is always ``model.objects.for_org(<the key's organization>)``; a view narrows it further
with ``scope_queryset`` but cannot widen it: overriding ``get_queryset`` or setting ``queryset``
fails at import time. Another organization's object is therefore simply absent: a 404.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from assistants.models import Organization


class OrganizationScopedAPIView(GenericAPIView):
    #: the model served; its manager must be an OrgScopedQuerySet manager
    model: ClassVar[type[models.Model]]
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
        return self.request.user.organization

    def get_queryset(self) -> models.QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request user
            return self.model.objects.none()
        return self.scope_queryset(self.model.objects.for_org(self.organization))

    def scope_queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        return queryset

    def get_object(self) -> models.Model:
        obj = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, obj)
        return obj


def validated(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> dict:
    """The validated data of a request body or query, or a 400 with per-field messages."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
