"""The curator group gets what the documentation promises curators beyond ratings (issue 19):
merge stories, split, move and pin their articles, read the clustering log, resolve or dismiss
readers' reports, and re-enable feeds."""

from django.db import migrations

from sources.curator_permissions import curator_permissions_grant, curator_permissions_revoke

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
    curator_permissions_grant(apps, CURATION_PERMISSIONS)


def permissions_revoke(apps, schema_editor):
    curator_permissions_revoke(apps, CURATION_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0009_story_is_a_cluster_page"),
        ("clustering", "0003_membership_reverse_name"),
        ("sources", "0005_feed_skipped_entries"),
    ]

    operations = [migrations.RunPython(permissions_grant, permissions_revoke)]
