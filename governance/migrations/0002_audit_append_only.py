"""PostgreSQL only: refuse UPDATE, DELETE and TRUNCATE on the audit trail at the database itself.

A superuser can still disable triggers; the hash chain and the stored checkpoints catch that. See
docs/audit.md for running the application under a role that holds only INSERT and SELECT on this table.
"""

from django.db import migrations

FORWARD = [
    r"""
    CREATE FUNCTION governance_audit_append_only() RETURNS trigger AS $$
    BEGIN
      RAISE EXCEPTION 'the audit trail is append-only: % on governance_auditevent refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON governance_auditevent
      FOR EACH ROW EXECUTE FUNCTION governance_audit_append_only();
    """,
    """
    CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON governance_auditevent
      FOR EACH STATEMENT EXECUTE FUNCTION governance_audit_append_only();
    """,
]
BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_no_truncate ON governance_auditevent;",
    "DROP TRIGGER IF EXISTS audit_no_update_delete ON governance_auditevent;",
    "DROP FUNCTION IF EXISTS governance_audit_append_only();",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial")]
    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
