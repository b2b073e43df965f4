"""Diacritic-insensitive search (docs/search.md): the `unaccent` and `pg_trgm` extensions and
`acountee_fold(text)`, the one folding every search uses (query side and index side).

In the project app because every app searches names (users, teams, invoices, PRs…) and
`accounts` is the bottom of the dependency order: index migrations depend on this one.
`unaccent()` is only STABLE (its dictionary could change), so it cannot appear in an index;
the wrapper names the dictionary explicitly and is declared IMMUTABLE — the standard trick.
unaccent.rules maps Đ/đ to D/d and (PostgreSQL ≥ 13) drops combining marks, so decomposed
(NFD) text folds the same as precomposed text.
"""

from django.db import migrations

FOLD_SQL = """
CREATE FUNCTION public.acountee_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, $1));
"""


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        # Trusted extensions (PostgreSQL ≥ 13): a database owner may create them. Reversing drops
        # them; nothing else in the schema uses them.
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;",
            "DROP EXTENSION IF EXISTS unaccent;",
        ),
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;",
            "DROP EXTENSION IF EXISTS pg_trgm;",
        ),
        migrations.RunSQL(FOLD_SQL, "DROP FUNCTION IF EXISTS public.acountee_fold(text);"),
    ]
