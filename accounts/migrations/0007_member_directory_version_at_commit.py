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
# once. The commit is after every change of the transaction, so moving it once then is enough. A transaction
# that has written reads the member search live and caches nothing (accounts/authentication.py), so what it
# sees of its own changes before they commit is never filed under the version everyone else reads.
# The organisation may be gone by the commit (deleting an organisation deletes its members first): nothing
# to move then. A transaction that changes members of several organisations moves their versions in the order
# of its changes (0006 sorted them within a statement): two such transactions at once, in opposite orders,
# can deadlock at commit (PostgreSQL cancels one); an organisation's own writers cannot.
previous = importlib.import_module("accounts.migrations.0006_member_directory_version")

CHANGED = " OR ".join(
    f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in previous.WATCHED.split(", ")
)

FORWARD_SQL = (
    previous.DROP_TRIGGERS_SQL.split("DROP SEQUENCE")[0]
    + f"""
CREATE FUNCTION accounts_member_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moved text := coalesce(nullif(current_setting('peerly.member_directory_moved', true), ''), ',');
    old_org bigint := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.organization_id END;
    new_org bigint := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.organization_id END;
BEGIN
    IF position(',' || old_org || ',' IN moved) > 0 THEN
        old_org := NULL;
    END IF;
    IF new_org = old_org OR position(',' || new_org || ',' IN moved) > 0 THEN
        new_org := NULL;
    END IF;
    IF old_org IS NULL AND new_org IS NULL THEN
        RETURN NULL;  -- moved already in this transaction (the other rows of a renewal)
    END IF;
    INSERT INTO accounts_memberdirectoryversion AS v (organization_id, version)
    SELECT o.id, nextval('accounts_member_directory_version_seq')
    FROM accounts_organization AS o
    WHERE o.id IN (old_org, new_org)
    ORDER BY o.id
    ON CONFLICT (organization_id) DO UPDATE SET version = EXCLUDED.version;
    PERFORM set_config('peerly.member_directory_moved', moved || concat_ws(',', old_org, new_org) || ',', true);
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
    previous.DROP_TRIGGERS_SQL.split("DROP FUNCTION")[0]  # the triggers have 0006's names
    + "DROP FUNCTION IF EXISTS accounts_member_directory_changed();\n"
    + "CREATE FUNCTION"
    + previous.TRIGGERS_SQL.split("CREATE FUNCTION", 1)[1]
)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0006_member_directory_version"),
    ]

    operations = [migrations.RunSQL(FORWARD_SQL, BACKWARD_SQL)]
