"""Query-string filters for the API's product and response lists."""

from django_filters import rest_framework as filters

from apps.products.models import Product
from apps.surveys.models import Response


class ProductFilter(filters.FilterSet):
    team = filters.CharFilter(field_name="team__slug")
    characteristic = filters.CharFilter(field_name="characteristics__key")
    active = filters.BooleanFilter(field_name="retired_at", lookup_expr="isnull")

    class Meta:
        model = Product
        fields = ["team", "characteristic", "active"]


class ResponseFilter(filters.FilterSet):
    round = filters.CharFilter(field_name="round__key")
    product = filters.CharFilter(field_name="product__slug")
    status = filters.ChoiceFilter(choices=Response.Status.choices)

    class Meta:
        model = Response
        fields = ["round", "product", "status"]
