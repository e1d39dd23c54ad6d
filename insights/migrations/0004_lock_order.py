import importlib

from django.db import migrations

# Locks, in one order for every writer (a review of the rollups' concurrency):
#
# - The insights' triggers on recognitions fire before the feed counters' (PostgreSQL fires a table's
#   triggers of one event in the order of their names: `insights_on_*` before `recognitions_counter_*`).
#   A creation holds its giver's row (the balance) before its insert reaches the counter row of its core
#   value; a review hiding one of that giver's recognitions must take the giver's row (the distinct givers)
#   before that counter row too, else each waits for the other.
# - A Hi5's triggers share-lock its recognition before reading whether it is visible: a hide committed
#   meanwhile is seen, and a hide to come waits for the Hi5, whoever writes it (the service locks it already).
# - A timezone change locks the Hi5s before the recognitions (Django deletes a recognition's Hi5s first,
#   then the recognition), in a mode that also excludes another rebuild.
previous = importlib.import_module("insights.migrations.0001_rollups")

LOCK_SQL = "LOCK TABLE recognitions_hi5, recognitions_recognition IN SHARE ROW EXCLUSIVE MODE;"

RECOGNITION_TRIGGERS = (
    ("insert", "NEW TABLE AS new_rows", "insights_recognitions_inserted"),
    ("delete", "OLD TABLE AS old_rows", "insights_recognitions_deleted"),
    ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "insights_recognitions_updated"),
)
HI5_TRIGGERS = (
    ("insert", "NEW TABLE AS new_rows", "insights_hi5s_inserted"),
    ("delete", "OLD TABLE AS old_rows", "insights_hi5s_deleted"),
    ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "insights_hi5s_updated"),
)


def _triggers(table: str, triggers, prefix: str, *, create: bool) -> str:
    statements = []
    for event, transition, function in triggers:
        name = f"{prefix}_on_{event}"
        if create:
            statements.append(
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} REFERENCING {transition} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
            )
        else:
            statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table};")
    return "\n".join(statements) + "\n"


FORWARD_SQL = (
    _triggers("recognitions_recognition", RECOGNITION_TRIGGERS, "recognitions_insights", create=False)
    + _triggers("recognitions_hi5", HI5_TRIGGERS, "hi5s_insights", create=False)
    + _triggers("recognitions_recognition", RECOGNITION_TRIGGERS, "insights", create=True)
    + _triggers("recognitions_hi5", HI5_TRIGGERS, "insights", create=True)
    + """
CREATE OR REPLACE FUNCTION insights_hi5s_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM recognitions_recognition WHERE id IN (SELECT recognition_id FROM new_rows)
    ORDER BY id FOR SHARE;
    PERFORM insights_apply(ARRAY(
        SELECT ROW(r.organization_id, r.core_value_id, NULL, r.given_for_id,
                   insights_day_number(n.given_at, o.timezone), true, 1)::insights_change
        FROM new_rows AS n
        JOIN recognitions_recognition AS r ON r.id = n.recognition_id
        JOIN accounts_organization AS o ON o.id = r.organization_id
        WHERE NOT r.is_hidden));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION insights_hi5s_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM recognitions_recognition WHERE id IN (SELECT recognition_id FROM old_rows)
    ORDER BY id FOR SHARE;
    PERFORM insights_apply(ARRAY(
        SELECT ROW(r.organization_id, r.core_value_id, NULL, r.given_for_id,
                   insights_day_number(d.given_at, o.timezone), true, -1)::insights_change
        FROM old_rows AS d
        JOIN recognitions_recognition AS r ON r.id = d.recognition_id
        JOIN accounts_organization AS o ON o.id = r.organization_id
        WHERE NOT r.is_hidden));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION insights_hi5s_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM recognitions_recognition
    WHERE id IN (SELECT recognition_id FROM old_rows UNION SELECT recognition_id FROM new_rows)
    ORDER BY id FOR SHARE;
    PERFORM insights_apply(ARRAY(
        WITH changed AS (
            SELECT o.recognition_id AS old_recognition, o.given_at AS old_at,
                   n.recognition_id AS new_recognition, n.given_at AS new_at
            FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
            WHERE (o.recognition_id, o.given_at) IS DISTINCT FROM (n.recognition_id, n.given_at)
        ), moves AS (
            SELECT old_recognition AS recognition_id, old_at AS at, -1 AS sign FROM changed
            UNION ALL
            SELECT new_recognition, new_at, 1 FROM changed
        )
        SELECT ROW(r.organization_id, r.core_value_id, NULL, r.given_for_id,
                   insights_day_number(m.at, o.timezone), true, m.sign)::insights_change
        FROM moves AS m
        JOIN recognitions_recognition AS r ON r.id = m.recognition_id
        JOIN accounts_organization AS o ON o.id = r.organization_id
        WHERE NOT r.is_hidden));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION insights_timezone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Writers in flight finish first, new ones wait for this transaction: then every day is the new one's.
    """
    + LOCK_SQL
    + """
    PERFORM insights_rebuild(NEW.id);
    RETURN NULL;
END $$;
"""
)

BACKWARD_SQL = (
    _triggers("recognitions_recognition", RECOGNITION_TRIGGERS, "insights", create=False)
    + _triggers("recognitions_hi5", HI5_TRIGGERS, "insights", create=False)
    + _triggers("recognitions_recognition", RECOGNITION_TRIGGERS, "recognitions_insights", create=True)
    + _triggers("recognitions_hi5", HI5_TRIGGERS, "hi5s_insights", create=True)
    + previous.TRIGGER_FUNCTIONS_SQL.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
    + previous.TRIGGERS_SQL.split("CREATE TRIGGER")[0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
)


class Migration(migrations.Migration):

    dependencies = [
        ('insights', '0003_member_days'),
        ('recognitions', '0002_recognition_counter'),
    ]

    operations = [
        migrations.RunSQL(FORWARD_SQL, BACKWARD_SQL),
    ]
