"""Thin Celery entry points of the clustering stage; they run on the ``clustering`` queue.

Each takes ids and returns the ids of the clusters it touched, for the stories stage that
follows in the chain (``newsroom.pipeline``).
"""

from __future__ import annotations

from celery import shared_task

from clustering import services
from sources.models import Article


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def article_cluster_task(article_id: int | None) -> list[int]:
    """Place one analysed article; the id of its cluster, or none when it was not analysed."""
    if article_id is None:
        return []
    cluster_id = services.cluster_assign(article_id=article_id)
    return [cluster_id] if cluster_id is not None else []


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def articles_cluster_task(article_ids: list[int]) -> list[int]:
    """Place analysed articles in publication order (a batch of an import); the clusters touched."""
    ordered = (
        Article.objects.filter(pk__in=article_ids, state=Article.State.ANALYSED)
        .order_by("published_at", "discovered_at", "pk")
        .values_list("pk", flat=True)
    )
    return sorted(
        {cluster_id for article_id in ordered if (cluster_id := services.cluster_assign(article_id=article_id))}
    )


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def clusters_recluster_task(cluster_ids: list[int]) -> list[int]:
    """The second pass (split drifted members, merge converged clusters); the clusters that changed."""
    return services.clusters_recluster(story_ids=cluster_ids)
