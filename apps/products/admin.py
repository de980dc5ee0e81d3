from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.products.models import Characteristic, Product
from apps.products.selectors import namesakes, sharing_a_name
from apps.products.services import unique_product_slug


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


class SharedNameFilter(admin.SimpleListFilter):
    """Products named like another product of their team: two rows nobody can tell apart on
    the dashboards and in the catalogue, usually a product entered twice."""

    title = _("name")
    parameter_name = "shared_name"

    def lookups(self, request, model_admin):
        return [("yes", _("Shared with another product of the team"))]

    def queryset(self, request, queryset):
        return sharing_a_name(queryset) if self.value() == "yes" else queryset


class ProductForm(forms.ModelForm):
    """The slug may be left blank: it is then made from the name (see unique_product_slug)."""

    class Meta:
        model = Product
        fields = [
            "name",
            "slug",
            "team",
            "description",
            "characteristics",
            "active_from",
            "retired_at",
        ]
        help_texts = {
            "slug": _(
                "The product's address (/products/SLUG/), in CSV files and in the API. Leave it "
                "blank to make one from the name: a name mostly in Latin letters gives its "
                "lowercase, hyphenated form; a Japanese name gives product-N."
            )
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("slug") and cleaned.get("name"):
            cleaned["slug"] = unique_product_slug(cleaned["name"], exclude_pk=self.instance.pk)
        return cleaned


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
    list_display = ["name", "slug", "team", "active_from", "retired_at"]
    list_filter = [RetiredFilter, SharedNameFilter, "team", "characteristics"]
    list_select_related = ["team"]
    search_fields = ["name", "slug", "description", "team__name"]
    filter_horizontal = ["characteristics"]
    date_hierarchy = "active_from"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        same = list(namesakes(obj).values_list("slug", flat=True)[:5])
        if same:
            self.message_user(
                request,
                gettext(
                    "Another product of %(team)s is also called “%(name)s” (%(slugs)s): "
                    "if it is the same product, retire or delete one of them."
                )
                % {"team": obj.team, "name": obj.name, "slugs": ", ".join(same)},
                messages.WARNING,
            )
