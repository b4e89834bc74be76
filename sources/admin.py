from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest

from sources import services
from sources.models import Article, Feed, Outlet, OutletDomain, OutletRating


class OutletDomainInline(admin.TabularInline):
    model = OutletDomain
    extra = 0


class OutletRatingInline(admin.TabularInline):
    """The outlet's rating history: existing ratings are read-only, a new row appends one."""

    model = OutletRating
    extra = 1
    fields = ["lean", "factuality", "rated_by", "rated_at", "note", "entered_by", "created_at"]
    readonly_fields = ["entered_by", "created_at"]
    can_delete = False
    ordering = ["-rated_at", "-created_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Existing rows render read-only; the blank extra row still adds a rating.
        return False


class FeedInline(admin.TabularInline):
    model = Feed
    extra = 0
    fields = ["url", "is_active", "health", "last_success_at", "consecutive_failures", "last_error", "disabled_at"]
    readonly_fields = ["health", "last_success_at", "consecutive_failures", "last_error", "disabled_at"]


@admin.register(Outlet)
class OutletAdmin(admin.ModelAdmin):
    list_display = ["name", "lean", "factuality", "country", "owner"]
    list_filter = ["lean", "factuality", "country"]
    search_fields = ["name", "domains__domain", "owner"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["lean", "factuality"]
    inlines = [OutletDomainInline, OutletRatingInline, FeedInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: BaseInlineFormSet, change: bool) -> None:
        if formset.model is not OutletRating:
            super().save_formset(request, form, formset, change)
            return
        # New ratings go through the service, which appends and updates the current rating.
        # formset.save() is not called, so record what it would have for the admin's change message.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed() or inline_form.instance.pk is not None:
                continue
            data = inline_form.cleaned_data
            if not data or data.get("DELETE"):
                continue
            rating = services.outlet_rating_add(
                outlet=form.instance,
                lean=data["lean"],
                factuality=data.get("factuality", ""),
                rated_by=data["rated_by"],
                rated_at=data.get("rated_at"),
                note=data.get("note", ""),
                entered_by=request.user,
            )
            formset.new_objects.append(rating)


@admin.register(OutletRating)
class OutletRatingAdmin(admin.ModelAdmin):
    list_display = ["outlet", "lean", "factuality", "rated_by", "rated_at", "entered_by", "created_at"]
    list_filter = ["lean", "rated_by"]
    search_fields = ["outlet__name", "rated_by", "note"]
    autocomplete_fields = ["outlet"]
    readonly_fields = ["entered_by", "created_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: OutletRating, form: Any, change: bool) -> None:
        rating = services.outlet_rating_add(
            outlet=obj.outlet,
            lean=obj.lean,
            factuality=obj.factuality,
            rated_by=obj.rated_by,
            rated_at=obj.rated_at,
            note=obj.note,
            entered_by=request.user,
        )
        obj.pk = rating.pk
        obj._state.adding = False


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    list_display = [
        "url",
        "outlet",
        "health",
        "is_active",
        "is_verified",
        "last_success_at",
        "consecutive_failures",
        "last_error_brief",
    ]
    list_filter = ["is_active", "is_verified"]
    search_fields = ["url", "outlet__name", "last_error"]
    readonly_fields = [
        "health",
        "is_verified",
        "etag",
        "last_modified",
        "last_polled_at",
        "last_success_at",
        "last_unconditional_at",
        "consecutive_failures",
        "last_error",
        "disabled_at",
    ]
    autocomplete_fields = ["outlet"]
    actions = ["enable_feeds"]

    @admin.display(description="Health")
    def health(self, feed: Feed) -> str:
        # "unverified": a catalogue URL never yet polled successfully.
        return feed.health

    @admin.display(description="Last error")
    def last_error_brief(self, feed: Feed) -> str:
        return feed.last_error[:120]

    @admin.action(description="Re-enable the selected feeds and poll them now")
    def enable_feeds(self, request: HttpRequest, queryset: QuerySet[Feed]) -> None:
        updated = services.feed_enable(feed_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{updated} feed(s) re-enabled.")


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "outlet", "published_at", "state", "is_title_only", "syndicated_from"]
    list_filter = ["state", "is_title_only", "language"]
    search_fields = ["title", "canonical_url", "outlet__name"]
    date_hierarchy = "published_at"
    raw_id_fields = ["outlet", "feed", "syndicated_from"]
    readonly_fields = [
        "content_hash",
        "syndication_similarity",
        "state_changed_at",
        "attempts",
        "last_error",
        "discovered_at",
        "fetched_at",
    ]
