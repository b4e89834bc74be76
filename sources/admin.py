from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from sources import feeds, ratings
from sources.models import Article, Feed, Outlet, OutletDomain, OutletRating, RatingChange


class OutletDomainInline(admin.TabularInline):
    model = OutletDomain
    extra = 0


class OutletRatingInline(admin.TabularInline):
    """The outlet's rating history: existing ratings are read-only, a new row appends one.

    Only users with ``sources.add_outletrating`` (the curator group) get the blank row.
    """

    model = OutletRating
    extra = 1
    fields = ["scheme", "lean", "score", "factuality", "rated_by", "rated_at", "note", "entered_by", "created_at"]
    readonly_fields = ["entered_by", "created_at"]
    can_delete = False
    ordering = ["-rated_at", "-created_at"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None and "scheme" in formset.form.base_fields:
            # A new rating is made on the outlet's own axis unless the curator says otherwise.
            formset.form.base_fields["scheme"].initial = obj.scheme
        return formset

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Existing rows render read-only; the blank extra row still adds a rating.
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Whoever may see the outlet sees its history.
        return super().has_view_permission(request, obj) or request.user.has_perm("sources.view_outlet")


class FeedInline(admin.TabularInline):
    model = Feed
    extra = 0
    fields = ["url", "is_active", "health", "last_success_at", "consecutive_failures", "last_error", "disabled_at"]
    readonly_fields = ["health", "last_success_at", "consecutive_failures", "last_error", "disabled_at"]


@admin.register(Outlet)
class OutletAdmin(admin.ModelAdmin):
    list_display = ["name", "scheme", "lean", "factuality", "lean_rule", "country", "owner"]
    list_filter = ["scheme", "lean", "factuality", "country"]
    search_fields = ["name", "domains__domain", "owner"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["lean", "factuality", "lean_rule", "lean_explanation"]
    exclude = ["effective_rating"]
    inlines = [OutletDomainInline, OutletRatingInline, FeedInline]

    class Media:
        css = {"all": ["newsroom/admin.css"]}

    def save_model(self, request: HttpRequest, obj: Outlet, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "scheme" in form.changed_data:
            # Another axis: the outlet's ratings in its new scheme decide its lean now.
            with transaction.atomic():
                ratings.outlet_effective_rating_sync(outlet=Outlet.objects.select_for_update().get(pk=obj.pk))

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
            if not request.user.has_perm("sources.add_outletrating"):
                raise PermissionDenied("Only curators can add ratings.")
            assert isinstance(request.user, User)  # the admin lets in only signed-in staff
            rating = ratings.outlet_rating_add(
                outlet=form.instance,
                scheme=data.get("scheme", ""),
                score=data.get("score"),
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
    list_display = [
        "outlet",
        "scheme",
        "lean",
        "score",
        "factuality",
        "rated_by",
        "rated_at",
        "entered_by",
        "created_at",
    ]
    list_filter = ["scheme", "lean", "rated_by"]
    search_fields = ["outlet__name", "rated_by", "note"]
    autocomplete_fields = ["outlet"]
    readonly_fields = ["entered_by", "created_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="sources_outletrating_import"),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a CSV or JSONL file of ratings: "Preview" shows what would change, "Import" applies it."""
        if not self.has_add_permission(request):
            raise PermissionDenied("Only curators can import ratings.")
        report = None
        form = RatingsImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                form.add_error("file", "The file is not UTF-8 text.")
            else:
                assert isinstance(request.user, User)  # the admin lets in only signed-in staff
                report = ratings.ratings_import(
                    lines=text.split("\n"),
                    fmt=ratings.format_of(upload.name, explicit=form.cleaned_data["format"]),
                    dry_run="_apply" not in request.POST,
                    entered_by=request.user,
                )
                if report.applied:
                    self.message_user(request, f"Imported {report.added} rating(s).")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import ratings",
            "form": form,
            "report": report,
            "default_scheme": settings.NEWSROOM_DEFAULT_RATING_SCHEME,
        }
        return TemplateResponse(request, "admin/sources/outletrating/import.html", context)

    def save_model(self, request: HttpRequest, obj: OutletRating, form: Any, change: bool) -> None:
        assert isinstance(request.user, User)  # the admin lets in only signed-in staff
        rating = ratings.outlet_rating_add(
            outlet=obj.outlet,
            scheme=obj.scheme,
            score=obj.score,
            lean=obj.lean,
            factuality=obj.factuality,
            rated_by=obj.rated_by,
            rated_at=obj.rated_at,
            note=obj.note,
            entered_by=request.user,
        )
        obj.pk = rating.pk
        obj._state.adding = False


class RatingsImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header row, or JSON Lines (the format export_ratings writes).")
    format = forms.ChoiceField(
        choices=[("", "From the file name (.csv, else JSONL)"), ("csv", "CSV"), ("jsonl", "JSONL")], required=False
    )


@admin.register(RatingChange)
class RatingChangeAdmin(admin.ModelAdmin):
    """The changelog, read-only: entries are written by the rating services."""

    list_display = ["created_at", "outlet", "lean_before", "lean_after", "rule", "rating"]
    list_filter = ["rule"]
    search_fields = ["outlet__name", "explanation"]
    list_select_related = ["outlet", "rating__outlet"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
        "skipped_entries",
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

    @admin.action(description="Re-enable the selected feeds and poll them now", permissions=["change"])
    def enable_feeds(self, request: HttpRequest, queryset: QuerySet[Feed]) -> None:
        updated = feeds.feed_enable(feed_ids=list(queryset.values_list("pk", flat=True)))
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
