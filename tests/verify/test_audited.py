"""Audited ballots in the record: exported after the partial decryptions, re-checked by the
verifier (re-encryption, tracker, rules), never counted, and never on the cast board."""

import json
from collections.abc import Callable

import pytest

from accounts.models import User
from elections import crypto, record, services
from elections.models import Election
from elections.verify.report import Report

from .test_export_v2 import (  # noqa: F401 (fixtures)
    KEY_BITS,
    add_question,
    exported,
    published_v2,
    verify_text,
    voters,
)

CHOICES = ([1, 0, 1, 0, 0], [0, 1, 0, 0, 1], [1, 0, 0, 1, 0])


def encrypt(election: Election, voter: User, selections: list[int]):
    params = services.election_params(election)
    pre = crypto.client.precompute_ballot(params, services.voter_context(election, voter))
    ballot = crypto.client.finish_ballot(pre, selections)
    return params, pre, ballot


def audit(election: Election, voter: User, selections: list[int]) -> str:
    _, pre, ballot = encrypt(election, voter, selections)
    document = crypto.audit_ballot(pre, ballot, selections).to_json()
    services.post_audited_ballot(election=election, voter=voter, payload=document)
    return document


@pytest.fixture
def audited_election(db, admin_user, make_user):
    election = Election.objects.create(slug="audited-2027", title="Audited 2027")
    add_question(election, "Chair", ["Ada", "Grace"])
    add_question(election, "Budget?", ["Yes", "No"], allow_blank=True)
    key_file = services.generate_keys(election=election, actor=admin_user, bits=KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    people = [make_user(f"voter_{index}") for index in range(3)]
    audit(election, people[0], [0, 1, 0, 0, 1])
    audit(election, people[1], [1, 0, 1, 0, 0])
    audit(election, people[1], [0, 1, 0, 1, 0])
    kept = None
    for voter, selections in zip(people, CHOICES, strict=True):
        params, pre, ballot = encrypt(election, voter, selections)
        services.cast_ballot(
            election=election, voter=voter, payload=crypto.ballot_to_json(ballot, params)
        )
        kept = kept or crypto.audit_ballot(pre, ballot, selections).to_json()
    services.close_election(election=election, actor=admin_user)
    services.decrypt_tally(election=election, key_file=key_file, passphrase=None, actor=admin_user)
    return election, kept


def audited_lines(text: str) -> tuple[str, list[str], str]:
    head, tail = text.split(',\n"audited_ballots":[\n')
    body, end = tail.rsplit("\n]", 1)
    return head, body.split(",\n"), end


def rebuilt(head: str, documents: list[str], end: str) -> str:
    return head + ',\n"audited_ballots":[\n' + ",\n".join(documents) + "\n]" + end


def test_the_record_carries_the_audited_ballots_and_verifies(audited_election):
    election, _ = audited_election
    text = exported(election)
    _, documents, end = audited_lines(text)
    assert end == "}\n" and len(documents) == 3
    assert all(json.loads(d)["format"] == "evoting/audited-ballot/v1" for d in documents)
    report = verify_text(text)
    assert report.ok, report.failures
    assert [item.answers for item in report.audited] == [
        [("Chair", "Grace"), ("Budget?", "blank vote")],
        [("Chair", "Ada"), ("Budget?", "Yes")],
        [("Chair", "Grace"), ("Budget?", "No")],
    ]
    # Never counted: the results are those of the three cast ballots only.
    assert report.questions is not None
    assert [(q.title, [o.count for o in q.options], q.blank) for q in report.questions] == [
        ("Chair", [2, 1], None),
        ("Budget?", [1, 1], 1),
    ]
    summary = report.summary()
    assert "Audited ballots (opened by their voters, never counted): 3" in summary
    assert "revealed: Chair: Grace; Budget?: blank vote" in summary
    assert report.to_dict()["audited"][0]["revealed"][0] == {"question": "Chair", "answer": "Grace"}


def test_a_record_without_audits_has_no_such_section(published_v2):  # noqa: F811
    assert '"audited_ballots"' not in exported(published_v2)


def tampered_report(election: Election, change) -> Report:
    head, documents, end = audited_lines(exported(election))
    documents = change(documents)
    return verify_text(rebuilt(head, documents, end))


def edit(index: int, field: str, slot: int, value: Callable[[str], str]):
    def change(documents: list[str]) -> list[str]:
        document = json.loads(documents[index])
        document[field][slot] = value(document[field][slot])
        documents[index] = json.dumps(document)
        return documents

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            edit(0, "choices", 0, lambda _: "1"),
            "audited ballot 1: question 1, option 1: the ciphertext is not the encryption",
        ),
        (
            edit(1, "randomness", 3, lambda r: format(int(r, 16) + 2, "x")),
            "audited ballot 2: question 2, option 2: the ciphertext is not the encryption",
        ),
        (
            edit(2, "choices", 4, lambda _: "1"),
            "audited ballot 3: question 2, blank: the ciphertext is not the encryption",
        ),
    ],
)
def test_a_tampered_audited_ballot_is_named(audited_election, change, expected):
    election, _ = audited_election
    report = tampered_report(election, change)
    assert report.exit_code == 1
    (failure,) = report.failures
    assert failure.check == "audited" and failure.message.startswith(expected)
    assert failure.message.endswith("with the revealed randomness")


def test_an_audited_ballot_slipped_into_the_cast_board_is_named(audited_election):
    election, cast_and_opened = audited_election
    report = tampered_report(election, lambda documents: [*documents, cast_and_opened])
    assert report.exit_code == 1
    (failure,) = report.failures
    assert failure.check == "audited" and "is also on the cast board" in failure.message
    assert failure.message.startswith("audited ballot 4 (tracker ")


def test_a_repeated_audited_ballot_is_named(audited_election):
    election, _ = audited_election
    report = tampered_report(election, lambda documents: [*documents, documents[0]])
    assert [f.message for f in report.failures] == [
        f"audited ballot 4 (tracker {report.audited[0].tracker}) appears twice"
    ]


def test_the_section_is_the_last_and_only_in_v2(audited_election):
    election, _ = audited_election
    text = exported(election)
    moved = text.replace(',\n"audited_ballots":[', ',\n"audited_ballotz":[')
    assert verify_text(moved).exit_code == 2
    with pytest.raises(ValueError, match="no audited ballots"):
        record.RecordParts(
            election={},
            params={"format": "evoting/election-params/v1"},
            voter_roll={},
            chain={},
            encrypted_tally={},
            results=None,
            candidates=[],
            audited_ballots=["{}"],
        )
