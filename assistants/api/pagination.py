from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class Pagination(CursorPagination):
    """Stable cursor pages, newest first; ?page_size= up to 200."""

    ordering = "-created_at"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        # A tampered cursor carries a position the database cannot compare with: a 404 like
        # DRF's own "Invalid cursor", not a 500.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, DataError, ValueError, TypeError, OverflowError) as exc:
            raise NotFound(self.invalid_cursor_message) from exc


class SequencePagination(Pagination):
    """A transcript in the order it was spoken."""

    ordering = "sequence"
