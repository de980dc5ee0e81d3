"""The product catalogue's search and filters (django-filter), applied to the products the
user may read: a filter narrows that set and never widens it."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Team
from apps.accounts.roles import sees_everything
from apps.dashboards.selectors import search_products
from apps.products.models import Characteristic


class CatalogueFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", max_length=100, label=_("Name or slug"), widget=forms.SearchInput
    )
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.none(),
        to_field_name="slug",
        label=_("Team"),
        empty_label=_("All teams"),
    )
    characteristic = django_filters.ModelChoiceFilter(
        field_name="characteristics",
        queryset=Characteristic.objects.order_by("order"),
        to_field_name="key",
        label=_("Use case"),
        empty_label=_("All"),
    )
    status = django_filters.ChoiceFilter(
        choices=[("active", _("Active")), ("retired", _("Retired"))],
        method="by_status",
        label=_("Status"),
        empty_label=_("Active and retired"),
    )

    def __init__(self, data, *, queryset, user):
        super().__init__(data, queryset=queryset)
        # A member picks among their own teams: other teams' names would lead to empty pages.
        teams = Team.objects.order_by("name")
        self.filters["team"].queryset = (
            teams if sees_everything(user) else teams.filter(members=user)
        )

    def search(self, queryset, name, value):
        return search_products(queryset, value)

    def by_status(self, queryset, name, value):
        return queryset.filter(retired_at__isnull=value == "active")
