"""Readers' reports of problems in generated content, and the curators' moderation of them.

Every change of a report's status goes through a service here and appends a ReportEvent in the
same transaction, so the audit trail cannot miss a step.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from stories.models import ContentReport, ReportEvent, Story


class ReportClosedError(ValueError):
    """The report was already resolved or dismissed."""


def content_report_create(
    *,
    story: Story,
    target: str,
    reason: str,
    quoted_text: str = "",
    message: str = "",
    reporter_email: str = "",
) -> ContentReport:
    with transaction.atomic():
        report = ContentReport.objects.create(
            story=story,
            story_title=story.title[:1000],
            target=target,
            reason=reason,
            quoted_text=quoted_text,
            message=message,
            reporter_email=reporter_email,
        )
        ReportEvent.objects.create(report=report, action=ReportEvent.Action.CREATED)
    return report


def _close(*, report_id: int, status: str, action: str, actor: User | AnonymousUser | None, note: str) -> ContentReport:
    with transaction.atomic():
        # Locked so two curators closing one report at once record one decision, not two.
        report = ContentReport.objects.select_for_update().get(pk=report_id)
        if report.status != ContentReport.Status.OPEN:
            raise ReportClosedError(f"Report {report.pk} is already {report.get_status_display().lower()}.")
        report.status = status
        report.closed_at = timezone.now()
        report.save(update_fields=["status", "closed_at"])
        ReportEvent.objects.create(
            report=report,
            action=action,
            actor=actor if actor is not None and actor.is_authenticated else None,
            note=note,
        )
    return report


def content_report_resolve(*, report_id: int, actor: User | AnonymousUser | None, note: str = "") -> ContentReport:
    """The report was right and the content was dealt with. Raises ReportClosedError if not open."""
    return _close(
        report_id=report_id,
        status=ContentReport.Status.RESOLVED,
        action=ReportEvent.Action.RESOLVED,
        actor=actor,
        note=note,
    )


def content_report_dismiss(*, report_id: int, actor: User | AnonymousUser | None, note: str = "") -> ContentReport:
    """The content stands. Raises ReportClosedError if not open."""
    return _close(
        report_id=report_id,
        status=ContentReport.Status.DISMISSED,
        action=ReportEvent.Action.DISMISSED,
        actor=actor,
        note=note,
    )
