from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [
        ("clustering", "0002_from_stories"),
        ("stories", "0009_story_is_a_cluster_page"),
    ]

    operations = [
        migrations.AlterField(
            model_name="membership",
            name="article",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE, related_name="membership", to="sources.article"
            ),
        ),
    ]
