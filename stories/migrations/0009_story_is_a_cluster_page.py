# Issue 15: the clustering state moved to the clustering app (copied there by clustering.0002).
# A story is now the page of a cluster: its primary key is the cluster, in the same "id"
# column, so every story keeps its id and the foreign keys to it stay as they are.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0008_claims_questions"),
        ("clustering", "0002_from_stories"),
    ]

    operations = [
        migrations.DeleteModel(name="StoryMembership"),
        migrations.DeleteModel(name="ClusteringEvent"),
        migrations.RemoveField(model_name="story", name="centroid"),
        migrations.RemoveField(model_name="story", name="body_centroid"),
        migrations.RemoveField(model_name="story", name="entity_counts"),
        migrations.RemoveField(model_name="story", name="outlet_ids"),
        migrations.RemoveField(model_name="story", name="confidence"),
        migrations.RemoveField(model_name="story", name="is_curated"),
        migrations.RemoveField(model_name="story", name="reclustered_at"),
        # The "id" column stays; in the model it is now the cluster (a rename in the state only).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="story",
                    name="id",
                    field=models.BigAutoField(db_column="id", primary_key=True, serialize=False),
                ),
                migrations.RenameField(model_name="story", old_name="id", new_name="cluster"),
            ]
        ),
        # Then the column becomes a foreign key to the cluster (no longer numbered by itself).
        migrations.AlterField(
            model_name="story",
            name="cluster",
            field=models.OneToOneField(
                db_column="id",
                on_delete=django.db.models.deletion.CASCADE,
                primary_key=True,
                related_name="story",
                serialize=False,
                to="clustering.cluster",
            ),
        ),
        migrations.AlterModelOptions(
            name="story",
            options={"ordering": ["-last_published_at", "-pk"], "verbose_name_plural": "stories"},
        ),
    ]
