"""The curator group gets what the documentation promises curators beyond ratings (issue 19):
merge stories, split, move and pin their articles, read the clustering log, resolve or dismiss
readers' reports, and re-enable feeds."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CURATION_PERMISSIONS = [
    ("sources", "view_feed"),
    ("sources", "change_feed"),
    ("stories", "view_story"),
    ("stories", "change_story"),
    ("clustering", "view_membership"),
    ("clustering", "change_membership"),
    ("clustering", "view_clusteringevent"),
    ("stories", "view_contentreport"),
    ("stories", "change_contentreport"),
]


def permissions_grant(apps, schema_editor):
    # Permissions are normally created after migrations run: create them now so the group can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name="curator")
    for app_label, codename in CURATION_PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def permissions_revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="curator"):
        for app_label, codename in CURATION_PERMISSIONS:
            group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label, codename=codename))


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0009_story_is_a_cluster_page"),
        ("clustering", "0003_membership_reverse_name"),
        ("sources", "0005_feed_skipped_entries"),
    ]

    operations = [migrations.RunPython(permissions_grant, permissions_revoke)]
