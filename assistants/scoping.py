"""Tenancy in one place: an organization-owned model's rows are reached through ``for_org``.

Every organization-owned model has two managers, made from the same queryset class::

    objects = ScopeRequiredManager.from_queryset(SessionQuerySet)()
    for_django_internals = SessionQuerySet.as_manager()

    class Meta:
        default_manager_name = DJANGO_INTERNALS_MANAGER

``objects``
    What project code uses. It refuses to run a query that says neither whose rows it wants
    (``for_org(organization)``, ``for_orgs(organizations)``) nor that it wants everyone's
    (``unscoped()``, for operators' commands, the API-key lookup at the auth boundary and
    cross-tenant jobs). ``Session.objects.filter(pk=...)`` raises ``UnscopedQueryError``
    instead of silently crossing tenants. Creating rows needs no scope.

``for_django_internals``
    A plain manager over the same queryset class, named in ``Meta.default_manager_name`` so
    that Django's own machinery keeps working unchanged: unique and constraint checks in
    ``full_clean``, the admin, form and serializer choice fields, ``dumpdata``, and the
    related managers of an instance (``session.messages.all()``: the parent was itself reached
    through a scoped query). Project code never names it; say ``objects.unscoped()`` instead.
    (Deletes, saves and foreign-key reads use Django's base manager, which is plain too.)

A queryset used inside another (``pk__in=Session.objects.filter(...)``) is not run by itself:
the outer query's scope is the one that counts. ``get_object_or_404(Model, ...)`` with a model
class goes through the default manager: pass it a scoped queryset, as the API's base view does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from django.db import models

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator

_M = TypeVar("_M", bound=models.Model)

#: what ``Meta.default_manager_name`` of every organization-owned model names
DJANGO_INTERNALS_MANAGER = "for_django_internals"


class UnscopedQueryError(RuntimeError):
    """A query on ``Model.objects`` ran without saying whose rows it reads or writes."""

    def __init__(self, model: type[models.Model], action: str) -> None:
        name = model.__name__
        super().__init__(
            f"{name}.objects: {action} without a tenant scope. Say whose rows you mean with "
            f"{name}.objects.for_org(organization) (or for_orgs(organizations)), or use "
            f"{name}.objects.unscoped() for deliberate access across organizations "
            "(operators' commands, the auth boundary, cross-tenant jobs)."
        )
        self.model = model


class OrgScopedQuerySet(models.QuerySet[_M]):
    #: the lookup from this model to its organization, e.g. "session__organization"
    org_lookup: ClassVar[str] = "organization"
    # Set by ``objects`` (ScopeRequiredManager); querysets of the Django-internals manager,
    # and of related managers built from it, leave it False.
    _scope_required: bool = False
    # Set by for_org / for_orgs / unscoped; kept by every queryset derived from this one.
    _scope_declared: bool = False

    def for_org(self, organization: Any) -> Self:
        """This organization's rows (a model instance or a primary key; None: no rows)."""
        if organization is None:
            return self._declared(self.none())
        return self._declared(
            self.filter(**{self.org_lookup: getattr(organization, "pk", organization)})
        )

    def for_orgs(self, organizations: Iterable[Any] | models.QuerySet[Any]) -> Self:
        """The rows of any of these organizations (instances, primary keys or a queryset)."""
        if not isinstance(organizations, models.QuerySet):
            organizations = [getattr(each, "pk", each) for each in organizations]
        return self._declared(self.filter(**{f"{self.org_lookup}__in": organizations}))

    def unscoped(self) -> Self:
        """Every organization's rows. Only for operators' tools, the auth boundary and
        cross-tenant jobs: the name is loud so a reviewer sees each use."""
        return self._declared(self.all())

    # ---- the guard ----------------------------------------------------------------------

    def _declared(self, queryset: Self) -> Self:
        queryset._scope_declared = True
        return queryset

    def _lacks_scope(self) -> bool:
        return self._scope_required and not self._scope_declared and not self.query.is_empty()

    def _check_scope(self, action: str) -> None:
        if self._lacks_scope():
            raise UnscopedQueryError(self.model, action)

    def __repr__(self) -> str:
        if self._lacks_scope():  # a debugger or a traceback must not run (or fail on) the query
            return f"<{type(self).__name__} of {self.model.__name__}: no tenant scope, not run>"
        return super().__repr__()

    def _clone(self) -> Self:
        clone: Self = super()._clone()  # type: ignore[misc]  # not in django-stubs
        clone._scope_required = self._scope_required
        clone._scope_declared = self._scope_declared
        return clone

    # Every way a QuerySet reaches the database passes through one of these. (get, first,
    # last, in_bulk, values, len, bool, iteration and the async a* variants all end in
    # _fetch_all, iterator or count; bulk_update, get_or_create and update_or_create in
    # update or get.) Saves and cascades use Django's base manager, a plain one.

    def _fetch_all(self) -> None:
        self._check_scope("read")
        super()._fetch_all()

    def iterator(self, chunk_size: int | None = None) -> Iterator[_M]:
        self._check_scope("read")
        return super().iterator(chunk_size)

    def aiterator(self, chunk_size: int = 2000) -> AsyncIterator[_M]:
        self._check_scope("read")
        return super().aiterator(chunk_size)

    def count(self) -> int:
        self._check_scope("count()")
        return super().count()

    def exists(self) -> bool:
        self._check_scope("exists()")
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._check_scope("aggregate()")
        return super().aggregate(*args, **kwargs)

    def explain(self, *, format: str | None = None, **options: Any) -> str:
        self._check_scope("explain()")
        return super().explain(format=format, **options)

    def update(self, **kwargs: Any) -> int:
        self._check_scope("update()")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._check_scope("delete()")
        return super().delete()


class ScopeRequiredManager(models.Manager[_M]):
    """``Model.objects`` of an organization-owned model: its querysets must declare a scope."""

    def get_queryset(self) -> OrgScopedQuerySet[_M]:
        queryset = super().get_queryset()
        if not isinstance(queryset, OrgScopedQuerySet):
            raise TypeError(f"{type(self).__name__} serves OrgScopedQuerySets only")
        queryset._scope_required = True
        return queryset
