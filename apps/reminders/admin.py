from django.contrib import admin
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from apps.reminders.models import Reminder, ReminderMail


class ReminderInline(admin.TabularInline):
    model = Reminder
    fields = ["product", "day", "failed"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReminderMail)
class ReminderMailAdmin(admin.ModelAdmin):
    """The reminder log, read-only: what was sent to whom, by what, and how it went."""

    list_display = [
        "created_at",
        "round",
        "recipient",
        "address",
        "kind",
        "triggered_by",
        "status",
        "product_list",
        "error",
    ]
    list_filter = ["status", "kind", "round"]
    search_fields = ["recipient__username", "address", "reminders__product__name"]
    date_hierarchy = "created_at"
    inlines = [ReminderInline]
    list_select_related = ["round", "recipient", "triggered_by"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("reminders", Reminder.objects.select_related("product").order_by("pk"))
            )
        )

    @admin.display(description=_("products"))
    def product_list(self, obj: ReminderMail) -> str:
        return ", ".join(reminder.product.name for reminder in obj.reminders.all())

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
