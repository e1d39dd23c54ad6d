"""The audit trail is append-only: PostgreSQL refuses UPDATE and DELETE of its rows.

The one exception is the retention purge (audit.services.audit_events_purge, `manage.py
purge_audit_events`): in its own transaction it declares a cutoff with
`set_config('peerly.audit_purge_before', <timestamp>, true)`, and only rows created before that
cutoff may then be deleted. TRUNCATE is left to the database owner (it needs the table's owner or
the TRUNCATE privilege, which the application role of docs/operations.md does not need).
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    purge_before timestamptz := NULLIF(current_setting('peerly.audit_purge_before', true), '')::timestamptz;
BEGIN
    IF TG_OP = 'DELETE' AND purge_before IS NOT NULL AND OLD.created_at < purge_before THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Events leave the trail only through manage.py purge_audit_events.';
END
$$;

CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_audit_event")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
