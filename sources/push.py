"""The push API's service: articles a partner sends instead of publishing a feed."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from sources.articles import REFUSED, article_import, refusal
from sources.importing import corpus_row_parse


@dataclass
class PushedItem:
    index: int
    status: str  # created, existing or rejected
    url: str = ""
    article_id: int | None = None
    reason: str = ""


@dataclass
class PushReport:
    items: list[PushedItem] = field(default_factory=list)

    def ids_with(self, *, status: str) -> list[int]:
        return [item.article_id for item in self.items if item.status == status and item.article_id is not None]


def articles_push(*, records: list[object]) -> PushReport:
    """Record articles a partner sends, in the corpus format; idempotent by canonical URL.

    Each item is validated on its own: a bad one is reported with its index and reason and
    the good ones are kept. Enqueueing the new ones is the caller's (the pipeline's) job.
    """
    report = PushReport()
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            report.items.append(PushedItem(index=index, status="rejected", reason="expected a JSON object"))
            continue
        try:
            # Each item in a savepoint of its own: one the database refuses rolls back alone.
            with transaction.atomic():
                article, created = article_import(row=corpus_row_parse(record))
        except REFUSED as error:
            url = record.get("url") if isinstance(record.get("url"), str) else ""
            report.items.append(PushedItem(index=index, status="rejected", url=str(url), reason=refusal(error)))
            continue
        report.items.append(
            PushedItem(
                index=index,
                status="created" if created else "existing",
                url=article.canonical_url,
                article_id=article.pk,
            )
        )
    return report
