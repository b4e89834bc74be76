"""API tokens: a user's credentials for the REST API, each with its scopes.

Its own small app, below ``sources`` in the import order (it imports only Django), because every
app's API checks a token's scopes: ``sources`` (ratings) and ``newsroom`` (article push) alike.
Putting it in ``newsroom`` would make ``sources`` import the project package.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    READ = "read", "Read stories, articles and outlets"
    ARTICLES_PUSH = "articles:push", "Push articles (needs the permission to add articles)"
    RATINGS_WRITE = "ratings:write", "Add outlet ratings (needs the permission to add outlet ratings)"


# What a user may do with a scope besides holding it: the permission a write scope also needs.
SCOPE_PERMISSIONS: dict[str, str] = {
    Scope.ARTICLES_PUSH: "sources.add_article",
    Scope.RATINGS_WRITE: "sources.add_outletrating",
}

PREFIX_LENGTH = 8


def token_hash(key: str) -> str:
    # A plain SHA-256 suffices: the key is 40 random characters, not a password a user chose,
    # so there is nothing to slow a guesser down for, and the lookup stays one indexed query.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """A key the holder sends as ``Authorization: Bearer <key>``. Only its hash is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. the script that uses it.")
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text="Scope names, e.g. read, articles:push, ratings:write.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who created it: the holder, or a curator in the admin.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
