import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The grouped Hi5 email used to list the Hi5s after the last one (by id) an email told of: a Hi5 committed after
# a later one (ids are taken at insert, commits come in any order) could be passed over. Each Hi5 is now noted
# for its receiver when its event is fanned out, and the email takes the notes.
#
# The emails waiting when this runs get their notes here: each waiting email's Hi5s, as it would have listed
# them (after the last one told of, from the Hi5 that scheduled it). Stop the workers while migrating
# (docs/operations.md).
#
# `hi5_emailed_through` leaves the model but stays in the table for this release, with a default, so web
# processes still running the previous code during a rolling deploy keep reading and writing it; a later
# migration drops it.
CARRY_OVER_SQL = """
INSERT INTO notifications_hi5note (hi5_id, recipient_id)
SELECT h.id, r.given_for_id
FROM procrastinate_jobs AS j
JOIN recognitions_recognition AS r ON r.given_for_id = (j.args ->> 'recipient_id')::bigint
JOIN recognitions_hi5 AS h ON h.recognition_id = r.id
LEFT JOIN notifications_notificationpreferences AS p ON p.user_id = r.given_for_id
WHERE j.task_name = 'notifications.hi5_email_send' AND j.status = 'todo'
  AND h.id >= GREATEST(COALESCE((j.args ->> 'from_hi5_id')::bigint, 0), COALESCE(p.hi5_emailed_through, 0) + 1)
ON CONFLICT DO NOTHING;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0004_webhooks'),
        ('procrastinate', '0001_initial'),
        ('recognitions', '0003_hi5_given_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Hi5Note',
            fields=[
                ('hi5', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='recognitions.hi5')),
                ('taken_at', models.DateTimeField(blank=True, help_text='When an email took it (sent, or dropped: hidden, switched off, deleted).', null=True)),
                ('recipient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.RunSQL(CARRY_OVER_SQL, migrations.RunSQL.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name='notificationpreferences', name='hi5_emailed_through'),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE notifications_notificationpreferences ALTER COLUMN hi5_emailed_through SET DEFAULT 0;",
                    "ALTER TABLE notifications_notificationpreferences ALTER COLUMN hi5_emailed_through DROP DEFAULT;",
                ),
            ],
        ),
    ]
