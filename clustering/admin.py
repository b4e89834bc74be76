"""The clustering log in the admin: every merge, split, move and pin, read-only.

The curators' actions themselves are in ``stories.admin``, beside the pages they rebuild.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from clustering.models import ClusteringEvent


@admin.register(ClusteringEvent)
class ClusteringEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "is_automatic", "actor", "story_id_value", "other_story_id_value", "detail"]
    list_filter = ["kind", "is_automatic"]
    readonly_fields = [field.name for field in ClusteringEvent._meta.get_fields()]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
