import django.db.models.deletion
from django.db import migrations, models

# What GET /users answers for a member: a change of any of these columns changes the directory (balances
# too: the answer shows them). The version moves in the writer's statement, so in its transaction.
WATCHED = (
    "first_name, last_name, display_name, email, profile_image_url, role_id, hi5_quota_balance, "
    "organization_id, soft_delete_at, soft_delete_by_id"
)

# Statement-level triggers with transition tables, as the feed counters (recognitions/0002): one upsert per
# statement however many rows it writes, organisations in id order (concurrent writers cannot deadlock).
# Each new version comes from a sequence: a version seen once is never seen again for other content, even
# when the transaction that took it rolled back. The sequence starts at a random point, and every
# organisation with members gets a version now, so two databases sharing one cache server by mistake do not
# share versions either (version 0, no row, is an organisation that never had a member: an empty answer).
UPSERT = """
    INSERT INTO accounts_memberdirectoryversion AS v (organization_id, version)
    SELECT organization_id, nextval('accounts_member_directory_version_seq')
    FROM ({changed}) AS changed
    WHERE organization_id IS NOT NULL
    ORDER BY organization_id
    ON CONFLICT (organization_id) DO UPDATE SET version = EXCLUDED.version;
"""
OLD = ", ".join(f"o.{column}" for column in WATCHED.split(", "))
NEW = ", ".join(f"n.{column}" for column in WATCHED.split(", "))
CHANGED_BY_UPDATE = f"""
        SELECT o.organization_id FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE ({OLD}) IS DISTINCT FROM ({NEW})
        UNION
        SELECT n.organization_id FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE o.organization_id IS DISTINCT FROM n.organization_id"""

# PL/pgSQL, not SQL functions: its statements are planned once per session, not on every call.
TRIGGERS_SQL = f"""
CREATE SEQUENCE accounts_member_directory_version_seq;
SELECT setval('accounts_member_directory_version_seq', 1 + floor(random() * 2 ^ 52)::bigint);
INSERT INTO accounts_memberdirectoryversion (organization_id, version)
SELECT organization_id, nextval('accounts_member_directory_version_seq')
FROM (SELECT DISTINCT organization_id FROM accounts_user WHERE organization_id IS NOT NULL) AS members;

CREATE FUNCTION accounts_member_directory_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {UPSERT.format(changed="SELECT DISTINCT organization_id FROM new_rows")}
    RETURN NULL;
END $$;

CREATE FUNCTION accounts_member_directory_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {UPSERT.format(changed="SELECT DISTINCT organization_id FROM old_rows")}
    RETURN NULL;
END $$;

CREATE FUNCTION accounts_member_directory_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {UPSERT.format(changed=CHANGED_BY_UPDATE)}
    RETURN NULL;
END $$;

CREATE TRIGGER accounts_member_directory_on_insert AFTER INSERT ON accounts_user
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION accounts_member_directory_on_insert();
CREATE TRIGGER accounts_member_directory_on_delete AFTER DELETE ON accounts_user
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION accounts_member_directory_on_delete();
CREATE TRIGGER accounts_member_directory_on_update AFTER UPDATE ON accounts_user
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION accounts_member_directory_on_update();
"""

DROP_TRIGGERS_SQL = """
DROP TRIGGER IF EXISTS accounts_member_directory_on_insert ON accounts_user;
DROP TRIGGER IF EXISTS accounts_member_directory_on_delete ON accounts_user;
DROP TRIGGER IF EXISTS accounts_member_directory_on_update ON accounts_user;
DROP FUNCTION IF EXISTS accounts_member_directory_on_insert();
DROP FUNCTION IF EXISTS accounts_member_directory_on_delete();
DROP FUNCTION IF EXISTS accounts_member_directory_on_update();
DROP SEQUENCE IF EXISTS accounts_member_directory_version_seq;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_leaderboard_visible'),
    ]

    operations = [
        migrations.CreateModel(
            name='MemberDirectoryVersion',
            fields=[
                ('organization', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='accounts.organization')),
                ('version', models.BigIntegerField()),
            ],
        ),
        migrations.RunSQL(TRIGGERS_SQL, DROP_TRIGGERS_SQL),
    ]
