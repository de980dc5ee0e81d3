from django.db import migrations

VIEWERS_GROUP = "MLOps viewers"  # apps.accounts.models.VIEWERS_GROUP at the time of writing


def create(apps, schema_editor):
    """The viewers group exists after migrate, like the admins group: an operator only adds
    people to it. Viewers read through the app's pages and API; they need no model
    permission (and no admin site)."""
    groups = apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias)
    groups.get_or_create(name=VIEWERS_GROUP)


def remove(apps, schema_editor):
    """The group goes only if nobody is in it: an operator's members are never dropped."""
    groups = apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias)
    groups.filter(name=VIEWERS_GROUP, user__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_admins_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create, remove)]
