"""Admin for rubrics: drafts are editable inline; published versions are read-only."""

from django.contrib import admin, messages
from django.db.models import Count

from apps.rubrics import services
from apps.rubrics.models import (
    Area,
    Band,
    Criterion,
    PublishedVersionError,
    Question,
    Rubric,
    RubricVersion,
    ScaleLevel,
)


class ReadOnlyWhenPublishedInline(admin.TabularInline):
    extra = 0

    def _published(self, obj) -> bool:
        version = obj if isinstance(obj, RubricVersion) else getattr(obj, "version", None)
        return bool(version and version.is_published)

    def has_add_permission(self, request, obj=None):
        return not self._published(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._published(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._published(obj) and super().has_delete_permission(request, obj)


class ScaleLevelInline(ReadOnlyWhenPublishedInline):
    model = ScaleLevel
    fields = ["order", "value", "label_en", "label_ja"]


class BandInline(ReadOnlyWhenPublishedInline):
    model = Band
    fields = ["order", "upper_bound", "label_en", "label_ja"]


class AreaInline(ReadOnlyWhenPublishedInline):
    model = Area
    fields = ["order", "key", "title_en", "title_ja"]


class QuestionInline(ReadOnlyWhenPublishedInline):
    model = Question
    fields = ["area", "order", "key", "text_en", "na_allowed"]
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("area")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name != "area":
            return super().formfield_for_foreignkey(db_field, request, **kwargs)
        version_id = request.resolver_match.kwargs.get("object_id")
        kwargs["queryset"] = Area.objects.filter(version_id=version_id)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        # Fixed choices, read once: otherwise every question row queries the areas again.
        field.choices = [("", "---------"), *((a.pk, str(a)) for a in kwargs["queryset"])]
        return field


class VersionInline(admin.TabularInline):
    model = RubricVersion
    fields = ["label", "state", "area_aggregation", "not_applicable_policy", "overall_rule"]
    readonly_fields = fields
    show_change_link = True
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Rubric)
class RubricAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_en", "name_ja", "version_count"]
    search_fields = ["slug", "name_en", "name_ja"]
    inlines = [VersionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_versions=Count("versions"))

    @admin.display(description="versions", ordering="n_versions")
    def version_count(self, obj: Rubric) -> int:
        return obj.n_versions


@admin.register(RubricVersion)
class RubricVersionAdmin(admin.ModelAdmin):
    list_display = [
        "rubric",
        "label",
        "state",
        "area_aggregation",
        "not_applicable_policy",
        "overall_rule",
        "published_at",
    ]
    list_filter = ["rubric", "state", "area_aggregation", "not_applicable_policy", "overall_rule"]
    list_select_related = ["rubric"]
    search_fields = ["rubric__slug", "rubric__name_en", "label"]
    inlines = [ScaleLevelInline, BandInline, AreaInline, QuestionInline]
    actions = ["publish"]

    def get_readonly_fields(self, request, obj=None):
        if obj and obj.is_published:
            return [f.name for f in obj._meta.fields]
        return ["state", "published_at"]

    def has_delete_permission(self, request, obj=None):
        return not (obj and obj.is_published) and super().has_delete_permission(request, obj)

    @admin.action(description="Publish the selected draft versions", permissions=["change"])
    def publish(self, request, queryset):
        for version in queryset.filter(state=RubricVersion.State.DRAFT):
            try:
                services.publish_version(version=version)
            except (services.RubricContentError, PublishedVersionError) as error:
                self.message_user(request, f"{version}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Published {version}.", messages.SUCCESS)


class CriterionInline(ReadOnlyWhenPublishedInline):
    model = Criterion
    fields = ["level", "text_en", "text_ja"]

    def _published(self, obj) -> bool:
        return bool(obj and obj.version.is_published)


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["key", "version", "area", "order", "na_allowed"]
    list_filter = ["version__rubric", "version", "na_allowed"]
    list_select_related = ["version__rubric", "area"]
    search_fields = ["key", "text_en", "text_ja"]
    inlines = [CriterionInline]

    def get_readonly_fields(self, request, obj=None):
        if obj and obj.version.is_published:
            return [f.name for f in obj._meta.fields]
        return ["version"]

    def has_delete_permission(self, request, obj=None):
        return not (obj and obj.version.is_published) and super().has_delete_permission(
            request, obj
        )
