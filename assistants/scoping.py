"""Tenancy in one place: every organization-owned model's queryset is scoped with ``for_org``.

Views, admin and consumers reach tenant data only through ``for_org`` (or the scoped base classes
built on it). Reaching across organizations needs ``unscoped()``, which is loud on purpose.
"""

from __future__ import annotations

from typing import Any, Self

from django.db import models


class OrgScopedQuerySet(models.QuerySet):
    #: the lookup from this model to its organization, e.g. "session__organization"
    org_lookup = "organization"

    def for_org(self, organization: Any) -> Self:
        if organization is None:
            return self.none()
        return self.filter(**{self.org_lookup: getattr(organization, "pk", organization)})

    def for_orgs(self, organizations: Any) -> Self:
        return self.filter(**{f"{self.org_lookup}__in": organizations})

    def unscoped(self) -> Self:
        """Every organization's rows. Only for operators' tools and cross-tenant jobs."""
        return self.all()


def scoped_queryset(lookup: str) -> type[OrgScopedQuerySet]:
    return type(f"OrgScopedQuerySet_{lookup}", (OrgScopedQuerySet,), {"org_lookup": lookup})
