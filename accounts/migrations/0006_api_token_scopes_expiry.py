"""API tokens get scopes, an expiry and a forward-only revocation.

Every token that exists already gets all three scopes and no expiry (the field default),
so no client breaks; new tokens are issued with an expiry (API_TOKEN_DEFAULT_DAYS).
The trigger makes revocation one-way for every writer, the admin and raw SQL included:
``revoked_at`` can be set once and never cleared or moved, and a token never changes
owner or digest.
"""

import django.contrib.postgres.fields
from django.db import migrations, models

import accounts.models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_user_language'),
    ]

    operations = [
        migrations.RunSQL(
            """
            CREATE FUNCTION accounts_apitoken_guard() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF OLD.revoked_at IS NOT NULL
                   AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
                    RAISE EXCEPTION 'accounts: token % was revoked; revocation cannot be undone',
                        OLD.id USING ERRCODE = '23000';
                END IF;
                IF NEW.user_id <> OLD.user_id OR NEW.digest <> OLD.digest THEN
                    RAISE EXCEPTION 'accounts: token % cannot change owner or secret', OLD.id
                        USING ERRCODE = '23000';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER accounts_apitoken_guard BEFORE UPDATE ON accounts_apitoken
                FOR EACH ROW EXECUTE FUNCTION accounts_apitoken_guard();
            """,
            reverse_sql="""
            DROP TRIGGER accounts_apitoken_guard ON accounts_apitoken;
            DROP FUNCTION accounts_apitoken_guard();
            """,
        ),
        migrations.AddField(
            model_name='apitoken',
            name='expires_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='scopes',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=16), default=accounts.models._all_scopes),
        ),
        migrations.AddIndex(
            model_name='apitoken',
            index=models.Index(condition=models.Q(('revoked_at__isnull', True)), fields=['user', '-id'], name='api_token_user_live'),
        ),
        migrations.AddConstraint(
            model_name='apitoken',
            constraint=models.CheckConstraint(condition=models.Q(('scopes__contained_by', ['read', 'payments', 'payouts']), ('scopes__len__gte', 1)), name='api_token_known_scopes'),
        ),
    ]
