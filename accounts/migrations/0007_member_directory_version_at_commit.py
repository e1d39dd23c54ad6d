import importlib

from django.db import migrations

# The member directory version moves at commit, no longer in the writing statement.
#
# Migration 0006 moved it in the statement that changed a member: every spend of a Hi5 changes a balance, so
# every recognition and Hi5 of an organisation took that organisation's version row at its first statement
# and held it to its commit, and the organisation's writes went one at a time through their whole
# transactions (sampled under the benchmark's writes: 40% of the time a writer waited for that row). Now a
# deferred constraint trigger moves it when the transaction commits: the row is held for the commit alone.
# Readers are unchanged: the new version and the changed members still become visible in one commit.
#
# Constraint triggers are row-level (no transition tables), and each changed row's trigger fires at commit: the
# first one of an organisation moves its version, the others find it moved in this transaction (a
# transaction-local setting lists the organisations) and do nothing, so a renewal of 10,000 balances moves it
# once. The commit is after every change of the transaction, so moving it once then is enough. (A transaction
# that makes the trigger fire early, `SET CONSTRAINTS ... IMMEDIATE`, then changes members again and reads the
# member search before committing could cache what it read under the version it moved: nothing does.)
# The organisation may be gone by the commit (deleting an organisation deletes its members first): nothing
# to move then.
previous = importlib.import_module("accounts.migrations.0006_member_directory_version")

CHANGED = " OR ".join(
    f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in previous.WATCHED.split(", ")
)

FORWARD_SQL = (
    previous.DROP_TRIGGERS_SQL.split("DROP SEQUENCE")[0]
    + f"""
CREATE FUNCTION accounts_member_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moved text := coalesce(current_setting('peerly.member_directory_moved', true), '');
    orgs bigint[];
BEGIN
    SELECT array_agg(DISTINCT org ORDER BY org) INTO orgs
    FROM unnest(ARRAY[CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.organization_id END,
                      CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.organization_id END]) AS org
    WHERE org IS NOT NULL AND position(',' || org || ',' IN moved) = 0;
    IF orgs IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO accounts_memberdirectoryversion AS v (organization_id, version)
    SELECT o.id, nextval('accounts_member_directory_version_seq')
    FROM accounts_organization AS o
    WHERE o.id = ANY (orgs)
    ORDER BY o.id
    ON CONFLICT (organization_id) DO UPDATE SET version = EXCLUDED.version;
    PERFORM set_config('peerly.member_directory_moved',
                       (CASE WHEN moved = '' THEN ',' ELSE moved END) || array_to_string(orgs, ',') || ',', true);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER accounts_member_directory_on_insert AFTER INSERT ON accounts_user
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.organization_id IS NOT NULL)
    EXECUTE FUNCTION accounts_member_directory_changed();
CREATE CONSTRAINT TRIGGER accounts_member_directory_on_delete AFTER DELETE ON accounts_user
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.organization_id IS NOT NULL)
    EXECUTE FUNCTION accounts_member_directory_changed();
CREATE CONSTRAINT TRIGGER accounts_member_directory_on_update AFTER UPDATE ON accounts_user
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({CHANGED})
    EXECUTE FUNCTION accounts_member_directory_changed();
"""
)

BACKWARD_SQL = (
    """
DROP TRIGGER IF EXISTS accounts_member_directory_on_insert ON accounts_user;
DROP TRIGGER IF EXISTS accounts_member_directory_on_delete ON accounts_user;
DROP TRIGGER IF EXISTS accounts_member_directory_on_update ON accounts_user;
DROP FUNCTION IF EXISTS accounts_member_directory_changed();
"""
    + "CREATE FUNCTION"
    + previous.TRIGGERS_SQL.split("CREATE FUNCTION", 1)[1]
)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0006_member_directory_version"),
    ]

    operations = [migrations.RunSQL(FORWARD_SQL, BACKWARD_SQL)]
