"""Thin Celery entry points of the stories stage; they run on the ``clustering`` queue."""

from __future__ import annotations

from celery import shared_task

from stories import digest, services


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def story_assign_task(article_id: int | None) -> int | None:
    """Returns the id of the story the article joined, for the refresh that follows."""
    if article_id is None:
        return None
    return services.story_assign(article_id=article_id)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=270)
def story_refresh_task(story_id: int | None) -> None:
    """The second clustering pass over the story (merge, split), then its page data."""
    if story_id is not None:
        for changed_id in services.stories_recluster(story_ids=[story_id]):
            services.story_refresh(story_id=changed_id)


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def digest_send_task() -> int:
    """The daily digest (Celery beat); safe to run twice a day: each reader is claimed once."""
    return digest.digest_send_daily()
