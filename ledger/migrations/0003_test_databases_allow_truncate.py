"""Let Django's test runner empty a *test* database between transactional tests.

The ledger refuses TRUNCATE unless the session sets ``ledger.allow_truncate = on``
(migration 0002). Django flushes tables with TRUNCATE after every transactional test, so
a database created by the test runner (named with Django's ``test_`` prefix while the test
environment is set up) gets that setting as a database default. Any other database is left
alone: there, TRUNCATE of ledger tables stays impossible.
"""

from django.core import mail
from django.db import migrations
from django.db.backends.base.creation import TEST_DATABASE_PREFIX


def allow_truncate_in_test_database(apps, schema_editor):
    connection = schema_editor.connection
    name = connection.settings_dict["NAME"]
    # django.test.utils.setup_test_environment() creates mail.outbox; nothing else does.
    if not (name.startswith(TEST_DATABASE_PREFIX) and hasattr(mail, "outbox")):
        return
    quoted = connection.ops.quote_name(name)
    with connection.cursor() as cur:
        cur.execute(f"ALTER DATABASE {quoted} SET ledger.allow_truncate = on")
        # ALTER DATABASE affects new sessions; this one keeps running the tests.
        cur.execute("SET ledger.allow_truncate = on")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_database_rules")]

    operations = [migrations.RunPython(allow_truncate_in_test_database, migrations.RunPython.noop)]
