# The clustering state moves out of stories (issue 15): its tables are created here, filled
# from stories' in 0002, and stories drops its copies in stories.0009.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("sources", "0004_curator_group_and_rating_history"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Cluster",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("lead_sum", models.BinaryField(default=b"")),
                ("body_sum", models.BinaryField(default=b"")),
                ("entity_counts", models.JSONField(default=dict, help_text="{entity: number of members naming it}.")),
                (
                    "outlet_ids",
                    models.JSONField(default=list, help_text="The outlets of the members: one report per outlet."),
                ),
                ("first_published_at", models.DateTimeField(db_index=True)),
                ("last_published_at", models.DateTimeField(db_index=True)),
                ("article_count", models.PositiveIntegerField(default=0)),
                (
                    "confidence",
                    models.FloatField(
                        default=1.0,
                        help_text="The pair model's probability that the weakest member belongs with the others.",
                    ),
                ),
                ("is_curated", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "reclustered_at",
                    models.DateTimeField(
                        db_index=True,
                        default=django.utils.timezone.now,
                        help_text="When the clusterer last changed its membership (assign, merge or split).",
                    ),
                ),
            ],
            options={"ordering": ["-last_published_at", "-id"]},
        ),
        migrations.CreateModel(
            name="ClusteringEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("merge", "Merge"), ("split", "Split"), ("move", "Move"), ("pin", "Pin"), ("unpin", "Unpin")],
                        max_length=8,
                    ),
                ),
                ("is_automatic", models.BooleanField(default=True)),
                ("story_id_value", models.BigIntegerField(help_text="The story that kept or received the articles.")),
                (
                    "other_story_id_value",
                    models.BigIntegerField(blank=True, help_text="The story merged away, or split from.", null=True),
                ),
                ("article_ids", models.JSONField(default=list)),
                ("probability", models.FloatField(blank=True, null=True)),
                ("detail", models.CharField(blank=True, max_length=300)),
                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
        migrations.CreateModel(
            name="Membership",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "similarity",
                    models.FloatField(help_text="Cosine similarity to the story centroid when the article joined."),
                ),
                (
                    "probability",
                    models.FloatField(default=1.0, help_text="The pair model's probability when the article joined."),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("started", "Started the story"),
                            ("joined", "Scored above the join threshold"),
                            ("update", "An update of its outlet's article in the story"),
                            ("merged", "Its story was merged into this one"),
                            ("split", "Split off a story it had drifted from"),
                            ("curator", "Placed by a curator"),
                        ],
                        default="joined",
                        max_length=16,
                    ),
                ),
                ("detail", models.CharField(blank=True, max_length=200)),
                ("is_pinned", models.BooleanField(default=False)),
                ("joined_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "cluster",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="memberships", to="clustering.cluster"
                    ),
                ),
                (
                    # Its reverse name becomes "membership" in 0003, once stories' own is gone.
                    "article",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="cluster_membership",
                        to="sources.article",
                    ),
                ),
            ],
            options={"ordering": ["cluster", "joined_at"]},
        ),
    ]
