"""The curators' admin of stories: merge, split, move and pin, then the pages rebuilt; reports.

Each clustering action calls a service in ``clustering.services``, which logs a
``ClusteringEvent`` and marks the clusters curated (or the article pinned) so the automatic
passes respect it; the stories it touched are refreshed here at once. The log itself is
``clustering.admin``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from clustering import services as clustering
from clustering.models import Membership, StoryPairCandidate
from stories import faq, reports, services
from stories.models import (
    ContentReport,
    DigestSubscription,
    ReportEvent,
    Story,
    StoryQuestion,
    StoryViewpoint,
)


class TargetStoryForm(ActionForm):
    story = forms.IntegerField(required=False, label="Target story id", help_text="For merge and move.")


class StoryViewpointInline(admin.TabularInline):
    fk_name = "story"
    model = StoryViewpoint
    extra = 0
    fields = ("side", "article_count", "outlet_count", "is_available", "unavailable_reason", "related_story", "tone")
    readonly_fields = fields
    can_delete = False


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "title",
        "article_count",
        "left_count",
        "center_count",
        "right_count",
        "unrated_count",
        "confidence",
        "is_curated",
        "last_published_at",
        "reclustered_at",
    ]
    list_filter = ["cluster__is_curated"]
    list_select_related = ["cluster"]
    search_fields = ["title", "summary"]
    date_hierarchy = "last_published_at"
    ordering = ["-last_published_at", "-pk"]
    # Everything but the wording is derived (story_refresh, the clusterer): shown, never edited here.
    fields = [
        "title",
        "summary",
        "grouping",
        "counts",
        "first_published_at",
        "last_published_at",
        "overview_sentences",
        "claims_table",
        "ratings_table",
        "members",
        "created_at",
        "refreshed_at",
    ]
    readonly_fields = [name for name in fields if isinstance(name, str) and name not in ("title", "summary")]
    inlines = [StoryViewpointInline]

    class Media:
        css = {"all": ["newsroom/admin.css"]}

    action_form = TargetStoryForm
    actions = ["merge_selected"]

    @admin.display(description="Articles (split, move and pin them under Clustering > Memberships)")
    def members(self, story: Story) -> str:
        rows = story.memberships.select_related("article").order_by("joined_at", "pk")
        return format_html_join(
            "",
            "<p>{} · {} · similarity {} · {}{}</p>",
            (
                (
                    membership.article.title or membership.article.canonical_url,
                    membership.get_reason_display(),
                    f"{membership.similarity:.2f}",
                    membership.detail,
                    " · pinned" if membership.is_pinned else "",
                )
                for membership in rows
            ),
        )

    @admin.display(description="Grouping")
    def grouping(self, story: Story) -> str:
        cluster = story.cluster
        dimensions = len(bytes(cluster.lead_sum)) // 4
        return format_html(
            "Confidence {} · {} · centroid: a {}-dimension vector over {} article(s){}",
            f"{cluster.confidence:.2f}",
            "curated (no automatic merge or split)" if cluster.is_curated else "automatic",
            dimensions,
            cluster.article_count,
            f" · re-clustered {cluster.reclustered_at:%Y-%m-%d %H:%M} UTC" if cluster.reclustered_at else "",
        )

    @admin.display(description="Counts")
    def counts(self, story: Story) -> str:
        return (
            f"{story.article_count} articles from {story.outlet_count} outlets: {story.left_count} left, "
            f"{story.center_count} center, {story.right_count} right, {story.unrated_count} unrated, "
            f"{story.syndicated_count} wire copies"
        )

    @admin.display(description="Overview")
    def overview_sentences(self, story: Story) -> str:
        sentences = (
            [item for item in story.overview if isinstance(item, dict)] if isinstance(story.overview, list) else []
        )
        if not sentences:
            return "-"
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                "<li>{} <small>(articles {})</small></li>",
                ((item.get("text", ""), item.get("citations", [])) for item in sentences),
            ),
        )

    @admin.display(description="Claims")
    def claims_table(self, story: Story) -> str:
        claims = [item for item in story.claims if isinstance(item, dict)] if isinstance(story.claims, list) else []
        if not claims:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    claim.get("text", ""),
                    *(
                        ", ".join(map(str, (claim.get("sides") or {}).get(side, []))) or "-"
                        for side in ("left", "center", "right")
                    ),
                )
                for claim in claims
            ),
        )
        return format_html(
            '<table class="story-claims"><thead><tr><th>Claim</th><th>Left</th><th>Center</th><th>Right</th></tr>'
            "</thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="Ratings the coverage was computed with")
    def ratings_table(self, story: Story) -> str:
        snapshot = story.ratings_snapshot if isinstance(story.ratings_snapshot, dict) else {}
        if not snapshot:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    key,
                    entry.get("lean") or "unrated",
                    entry.get("rated_by", ""),
                    entry.get("rated_at", ""),
                    entry.get("rule", ""),
                )
                for key, entry in sorted(snapshot.items())
                if isinstance(entry, dict)
            ),
        )
        return format_html(
            "<p>As of {}</p><table><thead><tr><th>Outlet id</th><th>Lean</th><th>Rated by</th><th>Rated at</th>"
            "<th>Rule</th></tr></thead><tbody>{}</tbody></table>",
            story.ratings_as_of or "-",
            rows,
        )

    @admin.display(description="Clustering confidence")
    def confidence(self, story: Story) -> float:
        return story.cluster.confidence

    @admin.display(description="Curated", boolean=True)
    def is_curated(self, story: Story) -> bool:
        return story.cluster.is_curated

    @admin.display(description="Re-clustered at")
    def reclustered_at(self, story: Story) -> Any:
        return story.cluster.reclustered_at

    @admin.action(
        description="Merge the selected stories into the target story (or the largest)", permissions=["change"]
    )
    def merge_selected(self, request: HttpRequest, queryset: QuerySet[Story]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        target = request.POST.get("story") or ""
        into_id = int(target) if target.isdigit() else max(queryset, key=lambda story: story.article_count).pk
        cluster = clustering.clusters_merge(into_id=into_id, story_ids=ids, actor=request.user)
        services.story_refresh(story_id=cluster.pk)
        self.message_user(request, f"Merged {len(ids)} stories into story {cluster.pk}.", messages.SUCCESS)


@admin.register(StoryPairCandidate)
class StoryPairCandidateAdmin(admin.ModelAdmin):
    """Stories that nearly merged (the merge pass's near misses): merge them, or say they are not one story.

    Their pages point readers at each other while the pair is open; a curator's merge goes through
    the curator merge (the result is curated), and a dismissed pair is never proposed again.
    """

    list_display = ["first_title", "second_title", "probability", "status", "scored_at"]
    list_filter = ["status"]
    list_select_related = ["story__story", "other__story"]
    readonly_fields = [field.name for field in StoryPairCandidate._meta.get_fields()]
    actions = ["merge_selected", "dismiss_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @staticmethod
    def _title(cluster: Any) -> str:
        story = getattr(cluster, "story", None)
        title = story.title if story is not None else ""
        url = reverse("stories:detail", kwargs={"pk": cluster.pk})
        return format_html('<a href="{}">{}</a>', url, title or f"Story {cluster.pk}")

    @admin.display(description="Story")
    def first_title(self, candidate: StoryPairCandidate) -> str:
        return self._title(candidate.story)

    @admin.display(description="Nearly merged with")
    def second_title(self, candidate: StoryPairCandidate) -> str:
        return self._title(candidate.other)

    @admin.action(description="Merge each selected pair (the same story)", permissions=["change"])
    def merge_selected(self, request: HttpRequest, queryset: QuerySet[StoryPairCandidate]) -> None:
        merged = 0
        for candidate_id in list(queryset.filter(status=StoryPairCandidate.Status.OPEN).values_list("pk", flat=True)):
            if not StoryPairCandidate.objects.filter(pk=candidate_id).exists():
                continue  # An earlier merge of this batch took one of its stories.
            cluster = clustering.story_pair_merge(candidate_id=candidate_id, actor=request.user)
            services.story_refresh(story_id=cluster.pk)
            merged += 1
        self.message_user(request, f"Merged {merged} pairs of stories.", messages.SUCCESS)

    @admin.action(description="Not the same story: never propose the selected pairs again", permissions=["change"])
    def dismiss_selected(self, request: HttpRequest, queryset: QuerySet[StoryPairCandidate]) -> None:
        pairs = list(queryset.values_list("pk", "story_id", "other_id"))
        for candidate_id, _story_id, _other_id in pairs:
            clustering.story_pair_dismiss(candidate_id=candidate_id, actor=request.user)
        # The pages stop pointing at each other.
        for story_id in sorted({story for _pk, *both in pairs for story in both}):
            services.story_refresh(story_id=story_id)
        self.message_user(request, f"Marked {len(pairs)} pairs as not the same story.", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Articles in their stories: the curator's split, move and pin, each followed by a page refresh."""

    list_display = ["article", "story", "similarity", "probability", "reason", "is_pinned", "joined_at"]
    list_filter = ["reason", "is_pinned"]
    search_fields = ["article__title", "cluster__story__title"]
    list_select_related = ["article", "cluster__story"]
    readonly_fields = ["cluster", "article", "similarity", "probability", "reason", "detail", "is_pinned", "joined_at"]
    action_form = TargetStoryForm
    actions = ["split_selected", "move_selected", "pin_selected", "unpin_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Story")
    def story(self, membership: Membership) -> Any:
        return getattr(membership.cluster, "story", None) or membership.cluster

    @admin.action(description="Split the selected articles (of one story) into a new story", permissions=["change"])
    def split_selected(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        source_ids = set(queryset.values_list("cluster_id", flat=True))
        try:
            story = clustering.cluster_split(
                article_ids=list(queryset.values_list("article_id", flat=True)), actor=request.user
            )
        except ValueError as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        for story_id in {story.pk, *source_ids}:
            services.story_refresh(story_id=story_id)
        self.message_user(request, f"Split into story {story.pk}.", messages.SUCCESS)

    @admin.action(description="Move the selected articles to the target story", permissions=["change"])
    def move_selected(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        target = request.POST.get("story") or ""
        if not target.isdigit() or not Story.objects.filter(pk=int(target)).exists():
            self.message_user(request, "Give the id of an existing target story.", messages.ERROR)
            return
        touched = {int(target)}
        for membership in list(queryset):
            touched.add(membership.cluster_id)
            clustering.membership_move(article_id=membership.article_id, story_id=int(target), actor=request.user)
        for story_id in touched:
            services.story_refresh(story_id=story_id)
        self.message_user(request, f"Moved {len(touched) - 1 or 1} article(s) to story {target}.", messages.SUCCESS)

    @admin.action(description="Pin the selected articles in their story", permissions=["change"])
    def pin_selected(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for article_id in queryset.values_list("article_id", flat=True):
            clustering.membership_pin(article_id=article_id, pinned=True, actor=request.user)
        self.message_user(request, "Pinned.", messages.SUCCESS)

    @admin.action(description="Unpin the selected articles", permissions=["change"])
    def unpin_selected(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for article_id in queryset.values_list("article_id", flat=True):
            clustering.membership_pin(article_id=article_id, pinned=False, actor=request.user)
        self.message_user(request, "Unpinned.", messages.SUCCESS)


# --- The moderation queue of readers' reports ---------------------------------------------


class ReportNoteForm(ActionForm):
    note = forms.CharField(
        required=False, label="Note", help_text="Why it was resolved or dismissed (kept in the audit trail)."
    )


class ReportEventInline(admin.TabularInline):
    model = ReportEvent
    fields = ("at", "action", "actor", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Whoever may see a report sees its trail; nobody edits the trail.
        return request.user.has_perm("stories.view_contentreport") or request.user.has_perm(
            "stories.change_contentreport"
        )


class ReportStatusFilter(admin.SimpleListFilter):
    """Open reports by default: the queue is what is left to do."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*ContentReport.Status.choices, ("all", "All")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ContentReport]) -> QuerySet[ContentReport]:
        value = self.value() or ContentReport.Status.OPEN
        return queryset if value == "all" else queryset.filter(status=value)

    def choices(self, changelist: Any) -> Any:
        current = self.value() or ContentReport.Status.OPEN
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }


@admin.register(ContentReport)
class ContentReportAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "status", "target", "reason", "story_link", "short_quote"]
    list_filter = [ReportStatusFilter, "target", "reason"]
    search_fields = ["story_title", "quoted_text", "message", "reporter_email"]
    list_select_related = ["story"]
    date_hierarchy = "created_at"
    fields = (
        "story",
        "story_title",
        "target",
        "reason",
        "quoted_text",
        "message",
        "reporter_email",
        "status",
        "created_at",
        "closed_at",
    )
    readonly_fields = fields
    inlines = [ReportEventInline]
    action_form = ReportNoteForm
    actions = ["resolve_selected", "dismiss_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Story")
    def story_link(self, report: ContentReport) -> str:
        story = report.story  # selected with the report; None without a query when there is no story
        if story is None:
            return format_html("{} <em>(story merged or removed)</em>", report.story_title)
        return format_html('<a href="{}">{}</a>', story.get_absolute_url(), report.story_title)

    @admin.display(description="Quoted text")
    def short_quote(self, report: ContentReport) -> str:
        return Truncator(report.quoted_text or report.message).chars(80)

    def _close_selected(self, request: HttpRequest, queryset: QuerySet[ContentReport], *, dismiss: bool) -> None:
        note = request.POST.get("note", "").strip()
        service = reports.content_report_dismiss if dismiss else reports.content_report_resolve
        closed, skipped = 0, 0
        for report_id in queryset.values_list("pk", flat=True):
            try:
                service(report_id=report_id, actor=request.user, note=note)
            except reports.ReportClosedError:
                skipped += 1
            else:
                closed += 1
        verb = "Dismissed" if dismiss else "Resolved"
        self.message_user(request, f"{verb} {closed} report(s).", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped {skipped} report(s) that were already closed.", messages.WARNING)

    @admin.action(description="Resolve the selected reports (the content was fixed)", permissions=["change"])
    def resolve_selected(self, request: HttpRequest, queryset: QuerySet[ContentReport]) -> None:
        self._close_selected(request, queryset, dismiss=False)

    @admin.action(description="Dismiss the selected reports (the content stands)", permissions=["change"])
    def dismiss_selected(self, request: HttpRequest, queryset: QuerySet[ContentReport]) -> None:
        self._close_selected(request, queryset, dismiss=True)


@admin.register(DigestSubscription)
class DigestSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["email", "status", "created_at", "confirmed_at", "last_sent_on"]
    list_filter = ["status"]
    search_fields = ["email"]
    readonly_fields = ["created_at", "confirmation_sent_at", "confirmed_at", "unsubscribed_at", "last_sent_on"]


class StoryQuestionForm(forms.ModelForm):
    class Meta:
        model = StoryQuestion
        fields = ["published_question"]
        widgets = {"published_question": forms.TextInput(attrs={"size": 80})}


@admin.register(StoryQuestion)
class StoryQuestionAdmin(admin.ModelAdmin):
    """The moderation queue of readers' questions: nothing reaches a story's FAQ until a curator approves it.

    A question whose wording is loaded or accusing is approved only under a neutral wording
    (``published_question``); one the coverage does not answer with citations is never approved.
    """

    form = StoryQuestionForm
    list_display = ["question", "wording_shown", "story", "count", "is_supported", "review", "last_asked_at"]
    list_filter = ["review", "is_supported"]
    search_fields = ["question", "published_question", "story__title"]
    list_select_related = ["story"]
    fields = [
        "story",
        "question",
        "published_question",
        "count",
        "is_supported",
        "answer_quotes",
        "review",
        "reviewed_by",
        "reviewed_at",
        "first_asked_at",
        "last_asked_at",
    ]
    readonly_fields = [
        "story",
        "question",
        "count",
        "is_supported",
        "answer_quotes",
        "review",
        "reviewed_by",
        "reviewed_at",
        "first_asked_at",
        "last_asked_at",
    ]
    ordering = ["review", "-count", "-last_asked_at"]
    actions = ["approve_selected", "reject_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Shown as")
    def wording_shown(self, question: StoryQuestion) -> str:
        return question.published_question or "(as asked)"

    @admin.display(description="Answer")
    def answer_quotes(self, question: StoryQuestion) -> str:
        quotes = [quote for quote in (question.answer or {}).get("quotes", []) if isinstance(quote, dict)]
        if not quotes:
            return str((question.answer or {}).get("refusal_reason", "")) or "-"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li>“{}” ({})</li>", ((quote.get("text", ""), quote.get("outlet", "")) for quote in quotes)
            ),
        )

    def _review_selected(self, request: HttpRequest, queryset: QuerySet[StoryQuestion], *, approve: bool) -> None:
        done = 0
        for question in queryset:
            try:
                faq.story_question_review(question_id=question.pk, approve=approve, actor=request.user)
            except ValidationError as error:
                self.message_user(request, f"“{question.question}”: {' '.join(error.messages)}", messages.WARNING)
            else:
                done += 1
        verb = "Approved" if approve else "Rejected"
        self.message_user(request, f"{verb} {done} question(s).", messages.SUCCESS)

    @admin.action(description="Approve the selected questions for the FAQ", permissions=["change"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[StoryQuestion]) -> None:
        self._review_selected(request, queryset, approve=True)

    @admin.action(description="Reject the selected questions (never in the FAQ)", permissions=["change"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[StoryQuestion]) -> None:
        self._review_selected(request, queryset, approve=False)

    def save_model(self, request: HttpRequest, obj: StoryQuestion, form: Any, change: bool) -> None:
        """A new wording of an approved question is checked as an approval is; if it fails, back to the queue."""
        if change and "published_question" in form.changed_data and obj.review == StoryQuestion.Review.APPROVED:
            try:
                faq.story_question_review(
                    question_id=obj.pk, approve=True, actor=request.user, wording=obj.published_question
                )
            except ValidationError as error:
                obj.review = StoryQuestion.Review.PENDING
                obj.save(update_fields=["published_question", "review"])
                self.message_user(request, f"Back in the queue: {' '.join(error.messages)}", messages.WARNING)
            return
        super().save_model(request, obj, form, change)
