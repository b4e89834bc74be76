from __future__ import annotations

from django.contrib import admin

from stories.models import Story, StoryMembership, StoryViewpoint


class StoryMembershipInline(admin.TabularInline):
    model = StoryMembership
    extra = 0
    fields = ["article", "similarity", "reason", "joined_at"]
    readonly_fields = ["similarity", "reason", "joined_at"]
    raw_id_fields = ["article"]


class StoryViewpointInline(admin.TabularInline):
    model = StoryViewpoint
    extra = 0
    fields = ["side", "article_count", "outlet_count", "is_available", "unavailable_reason", "tone"]
    readonly_fields = fields
    can_delete = False


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "article_count",
        "left_count",
        "center_count",
        "right_count",
        "unrated_count",
        "last_published_at",
    ]
    search_fields = ["title", "summary"]
    date_hierarchy = "last_published_at"
    readonly_fields = ["centroid", "created_at", "refreshed_at"]
    inlines = [StoryViewpointInline, StoryMembershipInline]
