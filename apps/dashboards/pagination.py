"""Paginators for pages that know their row count from the page's own query."""

from django.core.paginator import Paginator


class CountedPaginator(Paginator):
    """A paginator told its count, when the page has it already (one query fewer)."""

    def __init__(self, object_list, per_page: int, count: int):
        super().__init__(object_list, per_page)
        self.count = count  # Paginator.count is a cached property: this is its value
