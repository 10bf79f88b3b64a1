"""Fill ``handle_skeleton`` for people who signed up before it existed, then require it.

Two existing handles with the same skeleton would make the unique index fail: the migration
stops and names them, so that staff can rename one on purpose instead of silently.
"""

from django.db import migrations, models


def fill(apps, schema_editor):
    from accounts.handles import handle_skeleton

    User = apps.get_model("accounts", "User")
    seen: dict[str, str] = {}
    for user in User.objects.order_by("id").only("id", "handle_key"):
        skeleton = handle_skeleton(user.handle_key)
        if skeleton in seen:
            raise RuntimeError(
                f"handles {seen[skeleton]!r} and {user.handle_key!r} look alike; rename one"
            )
        seen[skeleton] = user.handle_key
        User.objects.filter(pk=user.pk).update(handle_skeleton=skeleton)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_accountauditevent_block_follow_mute_notification_and_more")]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="user",
            name="handle_skeleton",
            field=models.CharField(editable=False, max_length=90, unique=True),
        ),
    ]
