"""Stored full-text documents for the search page, on PostgreSQL only (SQLite has no full-text search here).

Migration 0007 indexed expressions: the index found the rows holding a word, but a word in most
articles was matched by computing ``to_tsvector`` of each article's whole text again (34 ms for the
newest 1,000 of 100,000), and a word in most stories by computing it for every story (145 ms for
10,000). Each table now stores its document in a generated column, filled and kept up to date by
PostgreSQL on every INSERT and UPDATE, GIN-indexed; matching a stored document is cheap wherever
the planner reads it from. The story's document is weighted (title A, summary B), so the rank
reads it as it is.

A column these documents are built from (the article's title and text, the story's title and
summary) cannot change type while a document is built from it: a migration altering one drops
the ``search_document`` column first and runs ``create`` below again after.

The article column is on a sources table but serves the stories app's search page: it is created
here so the sources app stays unaware of it.
"""

from importlib import import_module

from django.db import migrations

DOCUMENTS = {
    "sources_article": (
        "to_tsvector('english'::regconfig, COALESCE(title, '') || ' ' || COALESCE(text, ''))",
        "stories_article_document_idx",
    ),
    "stories_story": (
        "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A')"
        " || setweight(to_tsvector('english'::regconfig, COALESCE(summary, '')), 'B')",
        "stories_story_document_idx",
    ),
}
# What this replaces: migration 0007's expression indexes (its create() builds them again on the way back).
expression_indexes = import_module("stories.migrations.0007_search_indexes")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, (expression, index) in DOCUMENTS.items():
        schema_editor.execute(
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS search_document tsvector"
            f" GENERATED ALWAYS AS ({expression}) STORED"
        )
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {table} USING gin (search_document)")
    for name in expression_indexes.INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    expression_indexes.create(apps, schema_editor)
    for table in DOCUMENTS:
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_document")


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0012_viewpoint_related_story"),
        ("sources", "0006_article_outlet_changed_index"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
