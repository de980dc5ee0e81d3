from django.contrib import admin

from apps.products.models import Characteristic, Product


@admin.register(Characteristic)
class CharacteristicAdmin(admin.ModelAdmin):
    list_display = ["key", "name_en", "name_ja", "order"]


class RetiredFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("retired", "Retired")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(retired_at__isnull=True)
        if self.value() == "retired":
            return queryset.filter(retired_at__isnull=False)
        return queryset


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "team", "active_from", "retired_at"]
    list_filter = [RetiredFilter, "team", "characteristics"]
    list_select_related = ["team"]
    search_fields = ["name", "slug", "description", "team__name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["characteristics"]
    date_hierarchy = "active_from"
