from rest_framework.pagination import CursorPagination


class Pagination(CursorPagination):
    """Stable cursor pages, newest first; ?page_size= up to 200."""

    ordering = "-created_at"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
