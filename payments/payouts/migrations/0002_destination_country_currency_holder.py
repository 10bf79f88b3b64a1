"""Destinations record the holder's name, and their country and currency are checked codes.

Every destination before this was a US bank account paid in USD (the only kind the forms
took): rows whose codes are not upper-case ISO codes get US / USD before the constraint."""

from django.db import migrations, models

BACKFILL = """
UPDATE payments_payoutdestination SET country = 'US' WHERE country !~ '^[A-Z]{2}$';
UPDATE payments_payoutdestination SET currency = 'USD' WHERE currency !~ '^[A-Z]{3}$';
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="payoutdestination",
            name="account_holder_name",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="payoutdestination",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("country__regex", "^[A-Z]{2}$"), ("currency__regex", "^[A-Z]{3}$")
                ),
                name="payout_destination_country_currency_codes",
            ),
        ),
    ]
