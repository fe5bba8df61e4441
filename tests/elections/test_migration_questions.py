"""The move to questions: every election's candidates become one question, nothing is lost.

An election that had opened keeps ballot format v1, so its parameters (and the
fingerprint every stored proof is bound to) stay exactly what they were; a draft
moves to v2.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from elections import crypto, services
from elections.models import Election

from .conftest import TEST_KEY_BITS

BEFORE = [("elections", "0002_candidate_position_from_one")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_apps(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    migrate(executor_leaf())


def executor_leaf():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_candidates_become_one_question_and_opened_elections_keep_v1(old_apps):
    OldElection = old_apps.get_model("elections", "Election")
    OldCandidate = old_apps.get_model("elections", "Candidate")
    OldResult = old_apps.get_model("elections", "Result")
    with crypto.allow_small_keys_for_tests():
        public_key, _ = crypto.generate_keypair(TEST_KEY_BITS)
    public_json = crypto.public_key_to_json(public_key)
    published = OldElection.objects.create(
        slug="old-council",
        title="Old council",
        status="published",
        min_selections=1,
        max_selections=2,
        public_key=public_json,
    )
    names = ("Ada", "Grace", "Alan")
    candidates = [
        OldCandidate.objects.create(election=published, position=number, name=name)
        for number, name in enumerate(names, start=1)
    ]
    for candidate, count in zip(candidates, (4, 1, 2), strict=True):
        OldResult.objects.create(
            election=published, candidate=candidate, count=count, ciphertext="1", proof="1"
        )
    draft = OldElection.objects.create(slug="old-draft", title="Old draft", status="draft")
    OldCandidate.objects.create(election=draft, position=1, name="Edsger")
    v1_params = crypto.single_question_params(
        str(published.pk), public_key, tuple(str(c.pk) for c in candidates), 1, 2
    )

    # Through 0003_questions to the latest migration, as a deployment would go.
    migrate(executor_leaf())

    published = Election.objects.get(slug="old-council")
    draft = Election.objects.get(slug="old-draft")
    assert (published.ballot_format, draft.ballot_format) == (1, 2)
    (question,) = services.ordered_questions(published)
    assert (question.title, question.min_selections, question.max_selections) == (
        "Old council",
        1,
        2,
    )
    assert [(o.position, o.name) for o in question.options.all()] == list(enumerate(names, start=1))
    with crypto.allow_small_keys_for_tests():
        params = services.election_params(published)
    assert params.version == 1
    assert params.fingerprint == v1_params.fingerprint
    assert [(r.slot, r.count, r.question_id) for r in published.results.order_by("slot")] == [
        (0, 4, question.pk),
        (1, 1, question.pk),
        (2, 2, question.pk),
    ]
    assert [q.title for q in services.ordered_questions(draft)] == ["Old draft"]
    assert services.ballot_problem(draft) == ""
