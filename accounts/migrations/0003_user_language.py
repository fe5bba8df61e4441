"""The language an account chose on the site, for its emails; translatable field names."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_username_key"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="auditentry",
            options={
                "ordering": ["-created_at"],
                "verbose_name": "audit entry",
                "verbose_name_plural": "audit entries",
            },
        ),
        migrations.AddField(
            model_name="user",
            name="language",
            field=models.CharField(blank=True, editable=False, max_length=8),
        ),
        migrations.AlterField(
            model_name="user",
            name="affiliation",
            field=models.CharField(blank=True, max_length=120, verbose_name="affiliation"),
        ),
        migrations.AlterField(
            model_name="user",
            name="display_name",
            field=models.CharField(
                blank=True,
                help_text="Name shown on ballots (candidates).",
                max_length=120,
                verbose_name="display name",
            ),
        ),
        migrations.AlterField(
            model_name="user",
            name="role",
            field=models.CharField(
                choices=[
                    ("administrator", "Administrator"),
                    ("candidate", "Candidate"),
                    ("voter", "Voter"),
                ],
                default="voter",
                max_length=20,
                verbose_name="role",
            ),
        ),
        migrations.AlterField(
            model_name="user",
            name="statement",
            field=models.TextField(blank=True, max_length=2000, verbose_name="statement"),
        ),
    ]
