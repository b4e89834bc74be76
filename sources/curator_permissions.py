"""The curator group's permissions, as migrations grant and revoke them (with their historical models).

Migrations import these functions: keep their names and what they do, or copy them into those
migrations before changing them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CURATOR_GROUP = "curator"


def curator_permissions_grant(apps: Any, permissions: Iterable[tuple[str, str]]) -> None:
    """Add ``(app_label, codename)`` permissions to the curator group, creating both as needed."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrations run: create them now so the group can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=CURATOR_GROUP)
    for app_label, codename in permissions:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def curator_permissions_revoke(apps: Any, permissions: Iterable[tuple[str, str]]) -> None:
    """Take ``(app_label, codename)`` permissions from the curator group (the group stays)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name=CURATOR_GROUP):
        for app_label, codename in permissions:
            group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label, codename=codename))
