"""Idempotency records hold outcomes only.

A request in progress holds its key with an advisory lock instead of a ``started`` row with
a lease, so ``state``, ``locked_until`` and ``completed_at`` go. A ``started`` row still in
the table is a request that never stored an outcome; deleting it makes its key usable at
once, which is what the expiry of its lease would have done.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "DELETE FROM core_idempotencyrecord WHERE state <> 'completed'"
            " OR response_status IS NULL",
            migrations.RunSQL.noop,
        ),
        migrations.RemoveField(model_name="idempotencyrecord", name="completed_at"),
        migrations.RemoveField(model_name="idempotencyrecord", name="locked_until"),
        migrations.RemoveField(model_name="idempotencyrecord", name="state"),
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="response_status",
            field=models.PositiveSmallIntegerField(),
        ),
    ]
