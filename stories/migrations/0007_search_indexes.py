"""GIN indexes for the search page's full-text match, on PostgreSQL only (SQLite has no full-text search here).

Each expression is exactly what ``stories.browse.search`` filters on
(``SearchVector(a, b, config="english")``), so the planner uses the index.
The article index is on a sources table but serves the stories app's search page: it is
created here so the sources app stays unaware of it.
"""

from django.db import migrations

INDEXES = {
    "stories_article_search_idx": (
        "sources_article",
        "to_tsvector('english'::regconfig, COALESCE(title, '') || ' ' || COALESCE(text, ''))",
    ),
    "stories_story_search_idx": (
        "stories_story",
        "to_tsvector('english'::regconfig, COALESCE(title, '') || ' ' || COALESCE(summary, ''))",
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, expression) in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0006_reader_pages"),
        ("sources", "0002_ingest_health_syndication"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
