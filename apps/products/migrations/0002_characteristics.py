from django.db import migrations

# The use-case characteristics of Google Cloud's MLOps framework (2021).
CHARACTERISTICS = [
    ("experimentation", "Experimentation", "実験・PoC"),
    ("mission-critical", "Mission-critical", "ミッションクリティカル"),
    ("reusable-collaborative", "Reusable and collaborative", "再利用・共同開発"),
    ("ad-hoc-retraining", "Ad-hoc retraining", "不定期な再学習"),
    ("frequent-retraining", "Frequent retraining", "頻繁な再学習"),
    ("frequent-implementation-changes", "Frequent implementation changes", "頻繁な実装変更"),
    ("batch-serving", "Batch serving", "バッチ推論"),
    ("online-serving", "Online serving", "オンライン推論"),
]


def create(apps, schema_editor):
    Characteristic = apps.get_model("products", "Characteristic")
    for order, (key, name_en, name_ja) in enumerate(CHARACTERISTICS):
        Characteristic.objects.update_or_create(
            key=key, defaults={"order": order, "name_en": name_en, "name_ja": name_ja}
        )


def remove(apps, schema_editor):
    apps.get_model("products", "Characteristic").objects.filter(
        key__in=[key for key, _en, _ja in CHARACTERISTICS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("products", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
