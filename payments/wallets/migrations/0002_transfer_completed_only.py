"""Transfers have one status: ``completed``.

A transfer's row, its limit reservation and its ledger entry commit in one transaction, so
``pending`` (reserved, not yet booked) and ``failed`` rows cannot be written any more, and
nothing redrives them. Before the CHECK is added, rows a database may still hold from an
older two-step flow are settled the way that flow's redrive would have ended them: a row
whose ledger entry (``transfer:{id}``) was booked becomes ``completed``; any other row moved
no money and is deleted, giving its limit reservation back when it is still this week's.
"""

import datetime as dt

from django.db import migrations, models
from django.db.models.functions import Greatest


def settle_unfinished_transfers(apps, schema_editor):
    Transfer = apps.get_model("wallets", "Transfer")
    Entry = apps.get_model("ledger", "Entry")
    SendLimit = apps.get_model("wallets", "SendLimit")
    for transfer in Transfer.objects.exclude(status="completed").order_by("id").iterator():
        entry = Entry.objects.filter(idempotency_key=f"transfer:{transfer.pk}").first()
        if entry is not None:
            Transfer.objects.filter(pk=transfer.pk).update(status="completed", entry_id=entry.pk)
            continue
        created = transfer.created_at.astimezone(dt.UTC).date()
        week = created - dt.timedelta(days=created.weekday())
        SendLimit.objects.filter(user_id=transfer.sender_id, week_start=week).update(
            week_used=Greatest(models.F("week_used") - transfer.limit_amount, models.Value(0))
        )
        Transfer.objects.filter(pk=transfer.pk).delete()
    # Fire the deferred foreign-key checks of these changes now: PostgreSQL refuses to ALTER
    # a table with trigger events still pending in the transaction.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0003_test_databases_allow_truncate"),
        ("wallets", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(settle_unfinished_transfers, migrations.RunPython.noop),
        migrations.RemoveField(model_name="transfer", name="failure_code"),
        migrations.AlterField(
            model_name="transfer",
            name="status",
            field=models.CharField(
                choices=[("completed", "Completed")], default="completed", max_length=10
            ),
        ),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.CheckConstraint(
                condition=models.Q(("status", "completed")), name="transfer_completed"
            ),
        ),
    ]
