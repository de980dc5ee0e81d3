"""The administrators group ("MLOps admins") with the permissions an administrator needs in the
admin site: manage teams, products, rubrics and rounds, read responses, answers and scores, and
reopen submitted responses. An operator makes someone an administrator by adding them to the
group (and ticking "staff status" for the admin site). User accounts stay with superusers.

The permission list is frozen here, as migrations must be; a later model that administrators
should manage gets its permissions in that app's own migration."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMINS_GROUP = "MLOps admins"
MANAGE = ("add", "change", "delete", "view")
PERMISSIONS = {
    "accounts": {"team": MANAGE},
    "products": {"product": MANAGE, "characteristic": MANAGE},
    "rubrics": {
        model: MANAGE
        for model in ("rubric", "rubricversion", "scalelevel", "band", "area", "question", "criterion")
    },
    "surveys": {
        "surveyround": MANAGE,
        "response": ("view", "reopen"),
        "answer": ("view",),
    },
    "scoring": {"scoringjob": ("view",), "responsescore": ("view",), "roundaggregate": ("view",)},
}


def codenames():
    for app_label, models in PERMISSIONS.items():
        for model, actions in models.items():
            for action in actions:
                yield app_label, f"{action}_{model}"


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations ran; on a fresh database they do
    # not exist yet, so create them now (the same call Django makes afterwards, idempotent).
    alias = schema_editor.connection.alias
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=alias)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.using(alias).get_or_create(name=ADMINS_GROUP)
    wanted = list(codenames())
    found = Permission.objects.using(alias).filter(
        content_type__app_label__in=PERMISSIONS, codename__in=[code for _app, code in wanted]
    ).select_related("content_type")
    found = {(p.content_type.app_label, p.codename): p for p in found}
    missing = sorted(set(wanted) - found.keys())
    if missing:
        raise RuntimeError(f"Permissions not found for the admins group: {missing}")
    group.permissions.add(*found.values())


def remove_group(apps, schema_editor):
    """Undo what create_group did without losing an operator's work: the group goes only if
    nobody is in it; otherwise it keeps its members and loses the permissions granted here."""
    alias = schema_editor.connection.alias
    group = apps.get_model("auth", "Group").objects.using(alias).filter(name=ADMINS_GROUP).first()
    if group is None:
        return
    if not group.user_set.exists():
        group.delete()
        return
    granted = apps.get_model("auth", "Permission").objects.using(alias).filter(
        content_type__app_label__in=PERMISSIONS, codename__in=[code for _app, code in codenames()]
    )
    group.permissions.remove(*granted)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("products", "0002_characteristics"),
        ("rubrics", "0001_initial"),
        ("surveys", "0003_reopen_permission"),
        ("scoring", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
