"""PostgreSQL only: full-text search vector kept by a trigger, its GIN index, and a pattern index on names
for prefix searches (`name LIKE 'credit%'`). On SQLite this migration does nothing: search falls back to
substring matching there."""

from django.db import migrations

FORWARD = [
    r"""
    CREATE FUNCTION registry_model_search_vector() RETURNS trigger AS $$
    BEGIN
      NEW.search_vector :=
        setweight(to_tsvector('english', coalesce(NEW.name, '') || ' ' ||
                                         translate(coalesce(NEW.name, ''), '-_.', '   ')), 'A') ||
        setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(
          (SELECT string_agg(key || ' ' || value, ' ') FROM jsonb_each_text(coalesce(NEW.tags, '{}'::jsonb))),
          '')), 'B') ||
        setweight(to_tsvector('english', coalesce(NEW.description, '')), 'C');
      RETURN NEW;
    END
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER registry_model_search_vector
      BEFORE INSERT OR UPDATE OF name, title, description, tags ON registry_registeredmodel
      FOR EACH ROW EXECUTE FUNCTION registry_model_search_vector();
    """,
    "CREATE INDEX registry_model_search_gin ON registry_registeredmodel USING gin (search_vector);",
    "CREATE INDEX registry_model_name_pattern ON registry_registeredmodel (name varchar_pattern_ops);",
    "UPDATE registry_registeredmodel SET name = name;",
]
BACKWARD = [
    "DROP INDEX IF EXISTS registry_model_name_pattern;",
    "DROP INDEX IF EXISTS registry_model_search_gin;",
    "DROP TRIGGER IF EXISTS registry_model_search_vector ON registry_registeredmodel;",
    "DROP FUNCTION IF EXISTS registry_model_search_vector();",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
