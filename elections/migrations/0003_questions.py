"""Questions: every election's candidates become the options of one question.

Elections that already opened keep ballot format v1: their ballots were proved
against the v1 parameters (one question, no labels), so their records stay
verifiable as they are. Drafts move to format v2.
"""

import uuid

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


def candidates_into_questions(apps, schema_editor):
    Election = apps.get_model("elections", "Election")
    Question = apps.get_model("elections", "Question")
    Candidate = apps.get_model("elections", "Candidate")
    Result = apps.get_model("elections", "Result")
    for election in Election.objects.all():
        question = Question.objects.create(
            election=election,
            position=1,
            title=election.title[:200] or "Question",
            min_selections=election.min_selections,
            max_selections=max(election.max_selections, 1),
        )
        Candidate.objects.filter(election=election).update(question=question)
        if election.status != "draft":
            Election.objects.filter(pk=election.pk).update(ballot_format=1)
        for result in Result.objects.filter(election=election).select_related("candidate"):
            result.question = question
            result.slot = result.candidate.position - 1
            result.save(update_fields=["question", "slot"])


def questions_into_candidates(apps, schema_editor):
    Election = apps.get_model("elections", "Election")
    Question = apps.get_model("elections", "Question")
    for election in Election.objects.all():
        questions = list(Question.objects.filter(election=election).order_by("position"))
        if len(questions) > 1:
            raise RuntimeError(
                f"election {election.slug} has {len(questions)} questions; "
                "format v1 holds only one"
            )
        if questions:
            Election.objects.filter(pk=election.pk).update(
                min_selections=questions[0].min_selections,
                max_selections=questions[0].max_selections,
            )


class Migration(migrations.Migration):
    dependencies = [
        ("elections", "0002_candidate_position_from_one"),
    ]

    operations = [
        migrations.AddField(
            model_name="election",
            name="ballot_format",
            field=models.PositiveSmallIntegerField(
                choices=[
                    (1, "v1 (one question, labels not bound)"),
                    (2, "v2 (questions, every label bound)"),
                ],
                default=2,
                editable=False,
            ),
        ),
        migrations.CreateModel(
            name="Question",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "position",
                    models.PositiveSmallIntegerField(
                        help_text="Order on the ballot, from 1.",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                ("title", models.CharField(max_length=200)),
                ("description", models.TextField(blank=True, max_length=2000)),
                (
                    "min_selections",
                    models.PositiveSmallIntegerField(
                        default=1, help_text="Fewest options a (non-blank) answer selects."
                    ),
                ),
                (
                    "max_selections",
                    models.PositiveSmallIntegerField(
                        default=1,
                        help_text="Most options an answer selects.",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                (
                    "allow_blank",
                    models.BooleanField(
                        default=False,
                        help_text="Voters may answer blank (select nothing, counted apart).",
                    ),
                ),
                (
                    "election",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="questions",
                        to="elections.election",
                    ),
                ),
            ],
            options={
                "ordering": ["election", "position"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("election", "position"), name="elections_question_unique_position"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("min_selections__lte", models.F("max_selections"))),
                        name="elections_question_min_le_max",
                        violation_error_message="The minimum number of choices exceeds the maximum.",
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="candidate",
            name="question",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="options",
                to="elections.question",
            ),
        ),
        migrations.AddField(
            model_name="result",
            name="question",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="results",
                to="elections.question",
            ),
        ),
        migrations.AddField(
            model_name="result",
            name="slot",
            field=models.PositiveSmallIntegerField(
                default=0, help_text="Index of the ciphertext in the ballot."
            ),
            preserve_default=False,
        ),
        migrations.RemoveConstraint(
            model_name="result", name="elections_result_one_per_candidate"
        ),
        migrations.RunPython(candidates_into_questions, questions_into_candidates),
        migrations.AlterField(
            model_name="candidate",
            name="question",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="options",
                to="elections.question",
            ),
        ),
        migrations.AlterField(
            model_name="result",
            name="question",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="results",
                to="elections.question",
            ),
        ),
        migrations.AlterField(
            model_name="result",
            name="candidate",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="results",
                to="elections.candidate",
            ),
        ),
        migrations.AddConstraint(
            model_name="result",
            constraint=models.UniqueConstraint(
                fields=("election", "slot"), name="elections_result_one_per_slot"
            ),
        ),
        migrations.RemoveConstraint(
            model_name="candidate", name="elections_candidate_unique_position"
        ),
        migrations.RemoveConstraint(
            model_name="candidate", name="elections_candidate_unique_account"
        ),
        migrations.AddConstraint(
            model_name="candidate",
            constraint=models.UniqueConstraint(
                fields=("question", "position"), name="elections_option_unique_position"
            ),
        ),
        migrations.AddConstraint(
            model_name="candidate",
            constraint=models.UniqueConstraint(
                fields=("question", "account"), name="elections_option_unique_account"
            ),
        ),
        migrations.AlterModelOptions(
            name="candidate",
            options={
                "ordering": ["election", "question__position", "position"],
                "verbose_name": "option",
            },
        ),
        migrations.AlterModelOptions(name="result", options={"ordering": ["election", "slot"]}),
        migrations.AlterField(
            model_name="candidate",
            name="position",
            field=models.PositiveSmallIntegerField(
                help_text="Order within the question, from 1.",
                validators=[django.core.validators.MinValueValidator(1)],
            ),
        ),
        migrations.RemoveConstraint(model_name="election", name="elections_election_min_le_max"),
        migrations.RemoveField(model_name="election", name="min_selections"),
        migrations.RemoveField(model_name="election", name="max_selections"),
    ]
