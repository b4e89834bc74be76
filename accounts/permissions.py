"""Who may do what through the API: reads are open, writes need a token with a scope and a permission."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from accounts.models import SCOPE_PERMISSIONS, ApiToken, Scope


def request_token(request: Request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


class ReadOpenWriteScoped(permissions.BasePermission):
    """Anyone may read; a token used for reading must carry the ``read`` scope.

    A write needs a token (a browser session is refused, so no cross-site form can write) carrying
    the view's ``write_scope``, held by a user with the permission that scope needs.
    """

    message = "This needs a token with the right scope, held by a user with the permission."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request_token(request)
        if request.method in permissions.SAFE_METHODS:
            if token is not None and not token.has_scope(Scope.READ):
                self.message = f"This token lacks the '{Scope.READ}' scope."
                return False
            return True
        if not hasattr(view, request.method.lower()):  # type: ignore[union-attr]
            return True  # no such handler: the view answers 405, which says more than a refusal
        scope: str | None = getattr(view, "write_scope", None)
        if scope is None:
            self.message = "This endpoint takes no writes through the API."
            return False
        if token is None:
            self.message = "Writing needs an API token; a browser session cannot write."
            return False
        if not token.has_scope(scope):
            self.message = f"This token lacks the '{scope}' scope."
            return False
        if not request.user.has_perm(SCOPE_PERMISSIONS[scope]):
            self.message = f"The token's user lacks the '{SCOPE_PERMISSIONS[scope]}' permission."
            return False
        return True


class QueryOpen(permissions.BasePermission):
    """For a POST that changes no data but needs a body (a question): anyone, like a read.

    A token used for it must carry the ``read`` scope, as for any read.
    """

    message = f"This token lacks the '{Scope.READ}' scope."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request_token(request)
        return token is None or token.has_scope(Scope.READ)
