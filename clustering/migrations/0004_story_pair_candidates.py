"""Near misses of the merge pass (issue 16), for the story pages' safety net and the curators' review
list; the curator group may review them (view, and change: merge or mark as not the same story)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from sources.curator_permissions import curator_permissions_grant, curator_permissions_revoke

REVIEW_PERMISSIONS = [("clustering", "view_storypaircandidate"), ("clustering", "change_storypaircandidate")]


def permissions_grant(apps, schema_editor):
    curator_permissions_grant(apps, REVIEW_PERMISSIONS)


def permissions_revoke(apps, schema_editor):
    curator_permissions_revoke(apps, REVIEW_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("clustering", "0003_membership_reverse_name"),
        ("stories", "0010_curator_group_curation_permissions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="StoryPairCandidate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "probability",
                    models.FloatField(help_text="The merge pass's average-linkage probability, below its threshold."),
                ),
                ("detail", models.CharField(blank=True, max_length=300)),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "Waiting for a curator"), ("dismissed", "Not the same story")],
                        default="open",
                        max_length=16,
                    ),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "scored_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, help_text="When the merge pass last scored the pair."
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "other",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="clustering.cluster"
                    ),
                ),
                (
                    "story",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="pair_candidates",
                        to="clustering.cluster",
                    ),
                ),
            ],
            options={
                "ordering": ["-probability", "-id"],
                "constraints": [
                    models.UniqueConstraint(fields=("story", "other"), name="one_candidate_per_story_pair"),
                    models.CheckConstraint(
                        condition=models.Q(("story__lt", models.F("other"))), name="candidate_story_lower_id"
                    ),
                ],
            },
        ),
        migrations.RunPython(permissions_grant, permissions_revoke),
    ]
