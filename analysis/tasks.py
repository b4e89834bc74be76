"""Thin Celery entry points of the analysis stage; they run on the ``analysis`` queue."""

from __future__ import annotations

from celery import shared_task

from analysis import services
from sources.models import Article


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def article_analyse_task(article_id: int | None) -> int | None:
    """Returns the article id for the next stage, or None when there is nothing to pass on."""
    if article_id is None:
        return None
    services.articles_analyse(article_ids=[article_id])
    # Already analysed counts too: a retried chain must still reach clustering.
    if Article.objects.filter(pk=article_id, state__in=[Article.State.ANALYSED, Article.State.CLUSTERED]).exists():
        return article_id
    return None


@shared_task(acks_late=True, time_limit=1200, soft_time_limit=1100)
def articles_analyse_task(article_ids: list[int]) -> list[int]:
    return services.articles_analyse(article_ids=article_ids)
