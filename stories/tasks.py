"""Thin Celery entry points of the stories stage; page refreshes run on the ``clustering`` queue
(beside the clusterer whose output they read), the digest on ``ingest``."""

from __future__ import annotations

from celery import shared_task

from clustering.models import Membership
from stories import digest, services


@shared_task(acks_late=True, time_limit=300, soft_time_limit=270)
def stories_refresh_task(story_ids: list[int]) -> list[int]:
    """Rebuild the pages of these clusters (those merged away meanwhile are skipped)."""
    return [story_id for story_id in sorted(set(story_ids)) if services.story_refresh(story_id=story_id)]


@shared_task(acks_late=True, time_limit=300, soft_time_limit=270)
def story_refresh_task(story_id: int) -> None:
    """One story's page with its outlets' current ratings; membership is left alone."""
    services.story_refresh(story_id=story_id)


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def stories_refresh_for_articles_task(article_ids: list[int]) -> list[int]:
    """Queue a refresh of each story these articles belong to (their analysis changed)."""
    story_ids = sorted(set(Membership.objects.filter(article_id__in=article_ids).values_list("cluster_id", flat=True)))
    for story_id in story_ids:
        story_refresh_task.delay(story_id)
    return story_ids


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def stories_refresh_for_outlets_task(outlet_ids: list[int]) -> list[int]:
    """Queue a refresh of each story with an article of these outlets (their rating changed):
    the refresh recounts coverage by side and records the ratings it used."""
    story_ids = sorted(
        set(
            Membership.objects.filter(article__outlet_id__in=outlet_ids).values_list("cluster_id", flat=True).distinct()
        )
    )
    for story_id in story_ids:
        story_refresh_task.delay(story_id)
    return story_ids


# Within the broker's visibility timeout (NEWSROOM_TASK_VISIBILITY_SECONDS); a run cut short sends the rest next time.
@shared_task(acks_late=True, time_limit=840, soft_time_limit=780)
def digest_send_task() -> int:
    """The daily digest (Celery beat); safe to run twice a day: each reader is claimed once."""
    return digest.digest_send_daily()
