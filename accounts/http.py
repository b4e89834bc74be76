from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedHttpRequest(HttpRequest):
    """The request a view behind ``login_required`` gets: its user is signed in."""

    user: User
