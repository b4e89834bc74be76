"""Thin Celery entry points: an id in, a service called. The pipeline module chains them."""

from __future__ import annotations

from celery import shared_task

from sources import articles


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def article_fetch_task(article_id: int) -> int | None:
    """Returns the id of the article to analyse next (the canonical one), or None if fetching failed."""
    article = articles.article_fetch(article_id=article_id)
    if article is None or article.state == article.State.FAILED:
        return None
    return article.pk
