# Copies the clustering state that stories kept (stories.0008) into the clustering tables,
# keeping every id: a cluster's id is its story's, so URLs and API ids keep working.

import numpy as np
from django.core.management.color import no_style
from django.db import migrations


def forwards(apps, schema_editor):
    Story = apps.get_model("stories", "Story")
    StoryMembership = apps.get_model("stories", "StoryMembership")
    OldEvent = apps.get_model("stories", "ClusteringEvent")
    Cluster = apps.get_model("clustering", "Cluster")
    Membership = apps.get_model("clustering", "Membership")
    Event = apps.get_model("clustering", "ClusteringEvent")
    database = schema_editor.connection.alias

    def total(unit_bytes, count):
        # stories kept unit means; the clusterer now keeps sums, the unit mean times the count.
        vector = np.frombuffer(bytes(unit_bytes or b""), dtype=np.float32)
        return (vector * max(count, 1)).astype(np.float32).tobytes() if len(vector) else b""

    clusters = [
        Cluster(
            id=story.id,
            lead_sum=total(story.centroid, story.article_count),
            body_sum=total(story.body_centroid, story.article_count),
            entity_counts=story.entity_counts,
            outlet_ids=story.outlet_ids,
            first_published_at=story.first_published_at,
            last_published_at=story.last_published_at,
            article_count=story.article_count,
            confidence=story.confidence,
            is_curated=story.is_curated,
            created_at=story.created_at,
            reclustered_at=story.reclustered_at or story.refreshed_at or story.created_at,
        )
        for story in Story.objects.using(database).iterator(chunk_size=1000)
    ]
    Cluster.objects.using(database).bulk_create(clusters, batch_size=1000)
    Membership.objects.using(database).bulk_create(
        (
            Membership(
                id=old.id,
                cluster_id=old.story_id,
                article_id=old.article_id,
                similarity=old.similarity,
                probability=old.probability,
                reason=old.reason,
                detail=old.detail,
                is_pinned=old.is_pinned,
                joined_at=old.joined_at,
            )
            for old in StoryMembership.objects.using(database).iterator(chunk_size=1000)
        ),
        batch_size=1000,
    )
    Event.objects.using(database).bulk_create(
        (
            Event(
                id=old.id,
                kind=old.kind,
                is_automatic=old.is_automatic,
                actor_id=old.actor_id,
                story_id_value=old.story_id_value,
                other_story_id_value=old.other_story_id_value,
                article_ids=old.article_ids,
                probability=old.probability,
                detail=old.detail,
                created_at=old.created_at,
            )
            for old in OldEvent.objects.using(database).iterator(chunk_size=1000)
        ),
        batch_size=1000,
    )
    # Rows were written with their ids: the sequences must start after them.
    statements = schema_editor.connection.ops.sequence_reset_sql(no_style(), [Cluster, Membership, Event])
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("clustering", "0001_initial"),
        ("stories", "0008_claims_questions"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
