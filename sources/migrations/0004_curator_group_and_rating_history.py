"""The "curator" group with the rating permissions, and the rating history of existing outlets
written into the changelog (with the rule then in force, "latest")."""

from django.db import migrations

from sources.curator_permissions import curator_permissions_grant

CURATOR_PERMISSIONS = [
    ("sources", "view_outlet"),
    ("sources", "change_outlet"),
    ("sources", "view_outletrating"),
    ("sources", "add_outletrating"),
    ("sources", "view_ratingchange"),
]


def curator_group_create(apps, schema_editor):
    curator_permissions_grant(apps, CURATOR_PERMISSIONS)


def curator_group_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="curator").delete()


def history_backfill(apps, schema_editor):
    Outlet = apps.get_model("sources", "Outlet")
    OutletRating = apps.get_model("sources", "OutletRating")
    RatingChange = apps.get_model("sources", "RatingChange")
    for outlet in Outlet.objects.all():
        current = None
        lean, factuality = "", ""
        for rating in OutletRating.objects.filter(outlet=outlet).order_by("created_at", "id"):
            if current is None or (rating.rated_at, rating.created_at, rating.id) > (
                current.rated_at,
                current.created_at,
                current.id,
            ):
                current = rating
            explanation = f"Newest rating ({current.rated_by}, {current.rated_at})."
            RatingChange.objects.create(
                outlet=outlet,
                rating=rating,
                lean_before=lean,
                lean_after=current.lean,
                factuality_before=factuality,
                factuality_after=current.factuality,
                rule="latest",
                explanation=explanation,
                created_at=rating.created_at,
            )
            lean, factuality = current.lean, current.factuality
        if current is not None:
            Outlet.objects.filter(pk=outlet.pk).update(
                effective_rating=current, lean_rule="latest", lean_explanation=explanation
            )


class Migration(migrations.Migration):
    dependencies = [
        ("sources", "0003_ratings_provenance"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(curator_group_create, curator_group_delete),
        migrations.RunPython(history_backfill, migrations.RunPython.noop),
    ]
