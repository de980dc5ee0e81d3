from django.contrib import admin
from django.db.models import Count

from apps.accounts.models import Preference, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "member_count", "product_count"]
    search_fields = ["name", "slug", "members__username"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_members=Count("members", distinct=True),
                n_products=Count("products", distinct=True),
            )
        )

    @admin.display(description="members", ordering="n_members")
    def member_count(self, obj: Team) -> int:
        return obj.n_members

    @admin.display(description="products", ordering="n_products")
    def product_count(self, obj: Team) -> int:
        return obj.n_products


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "language"]
    list_filter = ["language"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
