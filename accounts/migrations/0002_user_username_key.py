"""Usernames unique after NFKC normalisation and case folding, enforced by the database.

Existing accounts get their key first; if two of them already clash (possible on SQLite,
whose case-insensitive matching covers ASCII only), the migration stops and names them
instead of choosing which account loses its name.
"""

from collections import defaultdict

from django.db import migrations, models

from accounts.usernames import normalise_username


def fill_username_keys(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    by_key = defaultdict(list)
    for user in User.objects.only("pk", "username").iterator():
        by_key[normalise_username(user.username)].append(user)
    clashes = [sorted(u.username for u in users) for users in by_key.values() if len(users) > 1]
    if clashes:
        raise RuntimeError(
            "These usernames differ only in case or Unicode form; rename all but one of each "
            f"group before migrating: {clashes}"
        )
    for key, (user,) in by_key.items():
        User.objects.filter(pk=user.pk).update(username_key=key)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="username_key",
            field=models.CharField(editable=False, max_length=600, null=True),
        ),
        migrations.RunPython(fill_username_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="user",
            name="username_key",
            field=models.CharField(
                editable=False,
                help_text="The username normalised (NFKC) and case-folded; unique.",
                max_length=600,
                unique=True,
            ),
        ),
    ]
