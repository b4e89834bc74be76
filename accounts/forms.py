from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User

from accounts.models import SCOPE_PERMISSIONS, Scope


def scope_choices_for(user: User) -> list[tuple[str, str]]:
    """The scopes a user can make use of: read, and each write scope whose permission they hold."""
    return [
        (value, label)
        for value, label in Scope.choices
        if value not in SCOPE_PERMISSIONS or user.has_perm(SCOPE_PERMISSIONS[value])
    ]


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. the script that uses it.")
    scopes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, initial=[Scope.READ])

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scopes = self.fields["scopes"]
        assert isinstance(scopes, forms.MultipleChoiceField)
        scopes.choices = scope_choices_for(user)
