"""PostgreSQL: compare the rollups' text keys byte by byte (collation "C").

Region paths and codes are ASCII; byte order is the natural order, equality is unchanged, and
sorting, grouping and index maintenance skip the locale's collation rules, which is most of
the cost of rebuilding millions of rollup rows. A prefix LIKE on `node` can then use a btree
index. SQLite compares bytes already, so there is nothing to do there.
"""

from django.db import migrations

COLUMNS = {
    "metrics_rollup": {"node": 300, "level": 16, "key": 32, "span": 1, "dim": 1},
    "metrics_casecontribution": {"region_path": 255, "grid_code": 32, "source": 10},
}


def _alter(apps, schema_editor, collation):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, columns in COLUMNS.items():
        changes = ", ".join(
            f'ALTER COLUMN "{name}" TYPE varchar({size}) COLLATE {collation}'
            for name, size in columns.items()
        )
        schema_editor.execute(f"ALTER TABLE {table} {changes}")


def forwards(apps, schema_editor):
    _alter(apps, schema_editor, '"C"')


def backwards(apps, schema_editor):
    _alter(apps, schema_editor, '"default"')


class Migration(migrations.Migration):
    dependencies = [("metrics", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
