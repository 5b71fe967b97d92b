"""Admin tenancy: staff who are not superusers see and edit only their organizations' objects."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from assistants.models import Organization, OrganizationQuerySet
from assistants.scoping import OrgScopedQuerySet


def organizations_of(user: User, roles: tuple[str, ...] | None = None) -> OrganizationQuerySet:
    """The organizations ``user`` belongs to (with one of ``roles``, when given)."""
    memberships = user.memberships.all()
    if roles:
        memberships = memberships.filter(role__in=roles)
    return Organization.objects.for_orgs(memberships.values("organization"))


class OrganizationScopedAdmin(admin.ModelAdmin):
    """Base class for every admin of an organization-owned model.

    The queryset, the object lookup and the choices of related fields are all narrowed to the
    organizations the user belongs to (with one of ``required_roles``, when set). Another
    organization's object is a 404; choosing another organization fails form validation.
    """

    required_roles: tuple[str, ...] | None = None

    def allowed_organizations(self, request):
        if request.user.is_superuser:
            return Organization.objects.unscoped()  # the operator sees every tenant
        return organizations_of(request.user, self.required_roles)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        if not isinstance(queryset, OrgScopedQuerySet):
            raise TypeError(f"{type(self).__name__} serves organization-owned models only")
        return queryset.for_orgs(self.allowed_organizations(request))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object in your organizations.")
        return obj

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs["queryset"] = self._scoped_choices(db_field, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs["queryset"] = self._scoped_choices(db_field, request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _scoped_choices(self, db_field, request):
        model = db_field.related_model
        queryset = model._default_manager.all()
        if request.user.is_superuser:
            return queryset
        if model is Organization:
            return self.allowed_organizations(request)
        if hasattr(queryset, "for_orgs"):
            return queryset.for_orgs(self.allowed_organizations(request))
        return queryset

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser or (
            super().has_module_permission(request) and self.allowed_organizations(request).exists()
        )
