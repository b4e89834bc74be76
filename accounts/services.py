from __future__ import annotations

import secrets

from django.contrib.auth.models import User
from django.utils import timezone

from accounts.models import PREFIX_LENGTH, ApiToken, Scope, token_hash


def api_token_create(
    *, user: User, name: str, scopes: list[str], created_by: User | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its key: the only time the key exists in the clear."""
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(unknown)}")
    if not name.strip():
        raise ValueError("A token needs a name.")
    key = secrets.token_urlsafe(30)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        prefix=key[:PREFIX_LENGTH],
        key_hash=token_hash(key),
        scopes=sorted(set(scopes)),
        created_by=created_by or user,
    )
    return token, key


def api_token_revoke(*, token: ApiToken) -> None:
    """Revoke a token for good; revoking it again changes nothing."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])


def api_token_touch(*, token: ApiToken) -> None:
    """Record that the token was used, at most once a minute: a write per request would cost more than it tells."""
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
