"""The move of the clustering state out of stories (stories.0009, clustering.0001-0003) keeps every
story, its id, its members and its log: URLs and API ids keep working after the upgrade."""

# ruff: noqa: N806 - historical models are named like the classes they stand for

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# Before the clustering app existed at all: an upgrade from the last release.
BEFORE = [("stories", "0008_claims_questions"), ("clustering", None)]
AFTER = [("stories", "0009_story_is_a_cluster_page"), ("clustering", "0003_membership_reverse_name")]
WHEN = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_keeps_each_story_its_id_members_and_log() -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        upgrade_check(executor)
    finally:  # the database as the rest of the suite expects it, whatever happened
        MigrationExecutor(connection).migrate(latest)


def upgrade_check(executor: MigrationExecutor) -> None:
    executor.migrate(BEFORE)
    old = executor.loader.project_state(
        [("stories", "0008_claims_questions"), ("sources", "0004_curator_group_and_rating_history")]
    ).apps
    Outlet, Article = old.get_model("sources", "Outlet"), old.get_model("sources", "Article")
    Story, Membership = old.get_model("stories", "Story"), old.get_model("stories", "StoryMembership")
    Event, Viewpoint = old.get_model("stories", "ClusteringEvent"), old.get_model("stories", "StoryViewpoint")
    outlet = Outlet.objects.create(name="Left Ledger", slug="left-ledger")
    centroid = np.ones(4, dtype=np.float32) / 2
    story = Story.objects.create(
        id=41,
        title="Fare hike",
        centroid=centroid.tobytes(),
        body_centroid=centroid.tobytes(),
        entity_counts={"Riverton": 2},
        outlet_ids=[outlet.pk],
        first_published_at=WHEN,
        last_published_at=WHEN,
        article_count=2,
        confidence=0.8,
        is_curated=True,
        reclustered_at=WHEN,
        refreshed_at=WHEN,
    )
    for number in (1, 2):
        article = Article.objects.create(
            outlet=outlet, url=f"https://ledger.example/{number}", canonical_url=f"https://ledger.example/{number}"
        )
        Membership.objects.create(story=story, article=article, similarity=0.9, reason="joined", is_pinned=number == 1)
    Viewpoint.objects.create(story=story, side="left", article_count=2, is_available=True)
    Event.objects.create(kind="merge", story_id_value=41, other_story_id_value=7, article_ids=[1], detail="merged")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    Cluster, Story = new.get_model("clustering", "Cluster"), new.get_model("stories", "Story")
    Membership, Event = new.get_model("clustering", "Membership"), new.get_model("clustering", "ClusteringEvent")

    cluster = Cluster.objects.get(pk=41)
    page = Story.objects.get(pk=41)
    assert (page.cluster_id, page.title, page.viewpoints.count()) == (41, "Fare hike", 1)
    assert (cluster.article_count, cluster.confidence, cluster.is_curated) == (2, 0.8, True)
    assert cluster.entity_counts == {"Riverton": 2}
    # The unit centroid kept as the sum of two members: the same direction.
    total = np.frombuffer(bytes(cluster.lead_sum), dtype=np.float32)
    assert np.allclose(total / np.linalg.norm(total), centroid)
    assert sorted(Membership.objects.filter(cluster_id=41).values_list("is_pinned", flat=True)) == [False, True]
    assert Event.objects.get().other_story_id_value == 7
    # New clusters are numbered after the copied ones, and a new page takes its cluster's id.
    fresh = Cluster.objects.create(first_published_at=WHEN, last_published_at=WHEN)
    assert fresh.pk > 41
    assert Story.objects.create(cluster=fresh, first_published_at=WHEN, last_published_at=WHEN).pk == fresh.pk
