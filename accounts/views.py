"""The reader's settings page for API tokens: create one (its key shown once), see them, revoke one."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import ApiTokenCreateForm
from accounts.http import AuthenticatedHttpRequest
from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_revoke

# The new key waits in the session for the page that shows it once, then is removed.
NEW_KEY_SESSION = "accounts:new-token-key"


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ApiTokenCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        _token, key = api_token_create(
            user=request.user, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"]
        )
        request.session[NEW_KEY_SESSION] = key
        # Redirect after the POST: reloading the page must not create a second token.
        return redirect("accounts:tokens")
    context = {
        "form": form,
        "new_key": request.session.pop(NEW_KEY_SESSION, None),
        "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id"),
    }
    return render(request, "accounts/tokens.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def token_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    # Only one's own tokens: another user's id is a 404, not a hint that it exists.
    api_token_revoke(token=get_object_or_404(ApiToken, pk=pk, user=request.user))
    return redirect("accounts:tokens")
