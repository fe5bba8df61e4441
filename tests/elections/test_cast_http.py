"""Casting through HTTP: a whole election, then every bad request against the cast endpoint.

Every refusal must be a 4xx with a JSON message, never a 500 (the test client
re-raises server errors), and must leave the board and the encrypted tally
exactly as they were.
"""

import json
import random
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from elections import services
from elections.models import Ballot, Election, EncryptedTally, RollEntry, RollMode, Status

from .conftest import TEST_KEY_BITS, OpenElection

BallotMaker = Callable[[Election, User, Sequence[int]], str]


def cast_url(election: Election) -> str:
    return reverse("elections:cast", kwargs={"slug": election.slug})


def post(client: Client, election: Election, body: str | bytes, **extra: Any) -> Any:
    return client.post(cast_url(election), data=body, content_type="application/json", **extra)


def board_and_tally(election: Election) -> tuple[list[str], list[str], int, int]:
    tally = EncryptedTally.objects.get(election=election)
    trackers = list(Ballot.objects.filter(election=election).values_list("tracker", flat=True))
    return trackers, list(tally.ciphertexts), tally.ballot_count, tally.version


@contextmanager
def nothing_stored(election: Election) -> Iterator[None]:
    before = board_and_tally(election)
    ballots = Ballot.objects.count()
    yield
    assert Ballot.objects.count() == ballots
    assert board_and_tally(election) == before


def refused(response: Any, status: int, fragment: str = "") -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    if status != 405:
        body = response.json()
        assert set(body) == {"error"} and body["error"]
        assert fragment.lower() in body["error"].lower(), body["error"]


def open_new(make_election, admin_user, slug: str, **fields: Any) -> Election:
    election = make_election(slug=slug, **fields)
    services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    if election.roll_mode == RollMode.EXPLICIT:
        return election
    services.open_election(election=election, actor=admin_user)
    return election


def booth_csrf_token(client: Client, election: Election) -> str:
    """The token the booth page gives its script, read the way booth.js reads it."""
    page = client.get(reverse("elections:booth", kwargs={"slug": election.slug}))
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match is not None
    return match.group(1)


# --- The happy path ----------------------------------------------------------------------


def test_a_complete_election_over_http(
    open_election: OpenElection, make_user, voter, admin_user, login_as, ballot_for
):
    election = open_election.election
    voters = [voter] + [make_user(f"voter_{i}", Role.VOTER) for i in range(1, 5)]
    choices = [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]]
    for sequence, (person, choice) in enumerate(zip(voters, choices, strict=True), start=1):
        client = login_as(person)
        response = post(client, election, ballot_for(election, person, choice))
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {"tracker", "sequence", "receipt_url"}
        assert body["sequence"] == sequence
        assert body["receipt_url"] == reverse("elections:receipt", kwargs={"slug": election.slug})
        receipt = client.get(body["receipt_url"])
        assert body["tracker"] in receipt.content.decode()
    turnout = Client().get(reverse("elections:turnout", kwargs={"slug": election.slug})).json()
    assert {key: turnout[key] for key in ("ballots", "eligible", "status")} == {
        "ballots": 5,
        "eligible": 5,
        "status": "open",
    }

    services.close_election(election=election, actor=admin_user)
    report = services.decrypt_tally(
        election=election, key_file=open_election.key_file, passphrase=None, actor=admin_user
    )
    assert [c.count for c in report.counts] == [3, 1, 1]
    page = Client().get(reverse("elections:results", kwargs={"slug": election.slug}))
    text = page.content.decode()
    assert '<td class="num" data-candidate="1">3</td>' in text
    assert '<td class="num" data-candidate="2">1</td>' in text
    assert '<td class="num" data-candidate="3">1</td>' in text
    assert "60.0%" in text and "5 ballots counted of 5 eligible voters: turnout 100.0%" in text


def test_cast_with_a_real_csrf_token_is_accepted(open_election: OpenElection, voter, ballot_for):
    election = open_election.election
    client = Client(enforce_csrf_checks=True)
    client.force_login(voter, backend="django.contrib.auth.backends.ModelBackend")
    token = booth_csrf_token(client, election)
    response = post(
        client, election, ballot_for(election, voter, [0, 1, 0]), HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201


# --- Authentication, session, access -------------------------------------------------


def test_logged_out_cast_is_401_json_not_a_redirect(open_election: OpenElection, voter, ballot_for):
    election = open_election.election
    with nothing_stored(election):
        response = post(Client(), election, ballot_for(election, voter, [1, 0, 0]))
    refused(response, 401, "sign in")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_CSRFTOKEN": "forged" * 6},
        {"HTTP_X_CSRFTOKEN": "a" * 64},
    ],
    ids=["missing", "forged", "well-formed-but-foreign"],
)
def test_cast_without_a_valid_csrf_token_is_refused(
    open_election: OpenElection, voter, ballot_for, headers
):
    election = open_election.election
    client = Client(enforce_csrf_checks=True)
    client.force_login(voter, backend="django.contrib.auth.backends.ModelBackend")
    client.cookies["csrftoken"] = "b" * 32
    with nothing_stored(election):
        response = post(client, election, ballot_for(election, voter, [1, 0, 0]), **headers)
    assert response.status_code == 403


def test_cross_site_origin_is_refused(open_election: OpenElection, voter, ballot_for):
    election = open_election.election
    client = Client(enforce_csrf_checks=True)
    client.force_login(voter, backend="django.contrib.auth.backends.ModelBackend")
    token = booth_csrf_token(client, election)
    with nothing_stored(election):
        response = post(
            client,
            election,
            ballot_for(election, voter, [1, 0, 0]),
            HTTP_X_CSRFTOKEN=token,
            HTTP_ORIGIN="https://evil.example",
        )
    assert response.status_code == 403


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "head"])
def test_cast_accepts_post_only(open_election: OpenElection, login_as, voter, method):
    election = open_election.election
    with nothing_stored(election):
        response = getattr(login_as(voter), method)(cast_url(election))
    assert response.status_code == 405


@pytest.mark.parametrize("persona", ["candidate", "admin_user", "pending_voter"])
def test_who_is_not_a_voter_cannot_cast(
    request, caplog, open_election: OpenElection, login_as, ballot_for, persona
):
    election = open_election.election
    person = request.getfixturevalue(persona)
    body = ballot_for(election, person, [1, 0, 0])
    with caplog.at_level("INFO", logger="evoting.security"), nothing_stored(election):
        response = post(login_as(person), election, body)
    refused(response, 403, "voter roll")
    logged = [r.getMessage() for r in caplog.records if r.name == "evoting.security"]
    assert any("ballot refused" in line and person.username in line for line in logged)
    first_ciphertext = json.loads(body)["questions"][0]["ciphertexts"][0]
    assert not any(first_ciphertext in line for line in logged)


def test_a_voter_not_on_the_roll_cannot_cast(
    make_election, admin_user, make_user, voter, login_as, ballot_for
):
    election = open_new(make_election, admin_user, "roll-only", roll_mode=RollMode.EXPLICIT)
    RollEntry.objects.create(election=election, voter=voter)
    services.open_election(election=election, actor=admin_user)
    outsider = make_user("olga_outsider", Role.VOTER)
    with nothing_stored(election):
        response = post(login_as(outsider), election, ballot_for(election, outsider, [1, 0, 0]))
    refused(response, 403, "voter roll")
    assert (
        post(login_as(voter), election, ballot_for(election, voter, [1, 0, 0])).status_code == 201
    )


def test_a_second_ballot_is_409(open_election: OpenElection, login_as, voter, ballot_for):
    election = open_election.election
    client = login_as(voter)
    assert post(client, election, ballot_for(election, voter, [1, 0, 0])).status_code == 201
    with nothing_stored(election):
        refused(post(client, election, ballot_for(election, voter, [0, 1, 0])), 409, "already")


def test_a_copy_of_another_voters_ballot_is_400(
    open_election: OpenElection, login_as, make_user, voter, ballot_for
):
    election = open_election.election
    original = ballot_for(election, voter, [0, 0, 1])
    assert post(login_as(voter), election, original).status_code == 201
    copier = make_user("cora_copier", Role.VOTER)
    with nothing_stored(election):
        refused(post(login_as(copier), election, original), 400, "refused")
    unposted = ballot_for(election, voter, [1, 0, 0])
    with nothing_stored(election):
        refused(post(login_as(copier), election, unposted), 400, "refused")


def test_a_ballot_for_another_election_is_400(
    open_election: OpenElection, make_election, admin_user, login_as, voter, ballot_for
):
    election = open_election.election
    other = open_new(make_election, admin_user, "other-election")
    with nothing_stored(election):
        refused(post(login_as(voter), election, ballot_for(other, voter, [1, 0, 0])), 400)


def test_draft_and_unknown_elections_are_404(draft_election, login_as, voter):
    client = login_as(voter)
    refused(post(client, draft_election, "{}"), 404, "no such election")
    response = client.post("/elections/nope/cast/", data="{}", content_type="application/json")
    refused(response, 404, "no such election")


# --- Ballot content and crypto -----------------------------------------------------------


def tampered(ballot_json: str, change: Callable[[dict[str, Any]], None]) -> str:
    document = json.loads(ballot_json)
    change(document)
    return json.dumps(document)


def set_first_ciphertext(value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document["questions"][0]["ciphertexts"][0] = value

    return change


@pytest.fixture
def voter_client(login_as, voter) -> Client:
    return login_as(voter)


def n_of(election: Election) -> int:
    return services.election_params(election).n


BAD_CIPHERTEXTS: dict[str, Callable[[int], Any]] = {
    "zero": lambda n: "0",
    "negative": lambda n: "-5",
    "negative-hex": lambda n: "-" + format(n - 1, "x"),
    "n-squared": lambda n: format(n * n, "x"),
    "above-n-squared": lambda n: format(n * n + 1, "x"),
    "not-coprime": lambda n: format(n, "x"),
    "uppercase-hex": lambda n: format(n + 1, "X"),
    "leading-zeros": lambda n: "000" + format(n + 1, "x"),
    "prefixed": lambda n: "0x" + format(n + 1, "x"),
    "float": lambda n: 1.5,
    "true": lambda n: True,
    "false": lambda n: False,
    "null": lambda n: None,
    "list": lambda n: [format(n + 1, "x")],
    "object": lambda n: {"c": "1"},
    "json-integer": lambda n: n + 1,
    "empty-string": lambda n: "",
    "decimal-5000-digits-string": lambda n: "9" * 5000,
}


@pytest.mark.parametrize("case", BAD_CIPHERTEXTS)
def test_bad_ciphertexts_are_400(
    open_election: OpenElection, voter_client, voter, ballot_for, case
):
    election = open_election.election
    bad = BAD_CIPHERTEXTS[case](n_of(election))
    body = tampered(ballot_for(election, voter, [1, 0, 0]), set_first_ciphertext(bad))
    with nothing_stored(election):
        refused(post(voter_client, election, body), 400, "refused")


def test_a_5000_digit_json_number_is_400_not_a_crash(
    open_election: OpenElection, voter_client, voter, ballot_for
):
    election = open_election.election
    ballot = ballot_for(election, voter, [1, 0, 0])
    first = json.loads(ballot)["questions"][0]["ciphertexts"][0]
    body = ballot.replace(f'"{first}"', "7" * 5000, 1)
    assert len(body) < 20_000
    with nothing_stored(election):
        refused(post(voter_client, election, body), 400, "refused")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"null", 400),
        (b"[]", 400),
        (b'"ballot"', 400),
        (b"{", 400),
        (b"\xff\xfe\x00garbage", 400),
        (b"ciphertexts=1&selection_proofs=2", 400),
        (b'{"format": "evoting/ballot/v1"}', 400),
    ],
)
def test_malformed_bodies_are_400(open_election: OpenElection, voter_client, body, status):
    election = open_election.election
    with nothing_stored(election):
        refused(post(voter_client, election, body), status, "refused")


def test_a_1_mb_hex_string_is_refused_before_parsing(
    open_election: OpenElection, voter_client, voter, ballot_for
):
    election = open_election.election
    body = tampered(ballot_for(election, voter, [1, 0, 0]), set_first_ciphertext("f" * 1_000_000))
    with nothing_stored(election):
        refused(post(voter_client, election, body), 413, "too large")


def test_an_over_long_hex_string_under_the_size_cap_is_400(
    open_election: OpenElection, voter_client, voter, ballot_for
):
    election = open_election.election
    long_hex = "1" + "0" * (len(format(n_of(election) ** 2, "x")) + 10)
    body = tampered(ballot_for(election, voter, [1, 0, 0]), set_first_ciphertext(long_hex))
    with nothing_stored(election):
        refused(post(voter_client, election, body), 400, "refused")


def test_a_10_mb_body_is_413(open_election: OpenElection, voter_client):
    election = open_election.election
    with nothing_stored(election):
        refused(post(voter_client, election, b"{" + b" " * 10_000_000 + b"}"), 413, "too large")


def test_a_lying_content_length_is_refused(open_election: OpenElection, voter_client):
    election = open_election.election
    with nothing_stored(election):
        refused(post(voter_client, election, b"{}", CONTENT_LENGTH="-1"), 400, "length")
        refused(post(voter_client, election, b"{}", CONTENT_LENGTH="lots"), 400, "length")


@pytest.mark.parametrize(
    "extra",
    [
        {"voter_id": "00000000-0000-0000-0000-000000000001"},
        {"election_id": "another"},
        {"tally": ["1", "1", "1"]},
        {"voter_context": "vc1-" + "0" * 40},
    ],
    ids=lambda extra: next(iter(extra)),
)
@pytest.mark.parametrize("inside", [False, True], ids=["ballot", "question"])
def test_extra_fields_are_refused(
    open_election: OpenElection, voter_client, voter, ballot_for, extra, inside
):
    election = open_election.election

    def add_extra(document: dict[str, Any]) -> None:
        (document["questions"][0] if inside else document).update(extra)

    body = tampered(ballot_for(election, voter, [1, 0, 0]), add_extra)
    with nothing_stored(election):
        refused(post(voter_client, election, body), 400, "refused")


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["questions"][0]["ciphertexts"].pop(),
        lambda d: d["questions"][0]["ciphertexts"].append(d["questions"][0]["ciphertexts"][0]),
        lambda d: d["questions"][0]["selection_proofs"].pop(),
        lambda d: d["questions"][0].pop("count_proof"),
        lambda d: d["questions"][0]["count_proof"]["responses"].pop(),
        lambda d: d["questions"][0]["selection_proofs"][0]["challenges"].reverse(),
        lambda d: d["questions"][0]["selection_proofs"].reverse(),
        lambda d: d.update(format="evoting/ballot/v0"),
    ],
    ids=[
        "too-few-ciphertexts",
        "too-many-ciphertexts",
        "missing-proof",
        "no-count-proof",
        "truncated-proof",
        "swapped-challenges",
        "proofs-reordered",
        "unknown-format",
    ],
)
def test_tampered_structures_are_400(
    open_election: OpenElection, voter_client, voter, ballot_for, change
):
    election = open_election.election
    body = tampered(ballot_for(election, voter, [0, 1, 0]), change)
    with nothing_stored(election):
        refused(post(voter_client, election, body), 400, "refused")


def test_a_ballot_with_two_choices_where_one_is_allowed_is_400(
    open_election: OpenElection, voter_client, voter, ballot_for, make_election, admin_user
):
    election = open_election.election
    multi = open_new(make_election, admin_user, "pick-two", min_selections=0, max_selections=2)
    params_of_multi = json.loads(ballot_for(multi, voter, [1, 1, 0]))
    body = tampered(
        ballot_for(election, voter, [1, 0, 0]),
        lambda d: d["questions"][0].update(
            ciphertexts=params_of_multi["questions"][0]["ciphertexts"]
        ),
    )
    with nothing_stored(election):
        refused(post(voter_client, election, body), 400, "refused")


def test_random_byte_flips_never_crash_and_are_never_stored(
    open_election: OpenElection, voter_client, voter, ballot_for
):
    election = open_election.election
    original = ballot_for(election, voter, [0, 0, 1]).encode()
    generator = random.Random(20260501)
    statuses = set()
    with nothing_stored(election):
        for _ in range(100):
            mutated = bytearray(original)
            for _ in range(generator.randint(1, 4)):
                position = generator.randrange(len(mutated))
                mutated[position] = generator.randrange(256)
            if bytes(mutated) == original:
                continue
            cache.clear()  # the refusal throttle has its own test
            response = post(voter_client, election, bytes(mutated))
            statuses.add(response.status_code)
            assert response.status_code == 400, response.content[:200]
            assert response.json()["error"]
    assert statuses == {400}
    # The untouched ballot is still accepted afterwards: the refusals left no trace.
    assert post(voter_client, election, original).status_code == 201


def test_repeated_invalid_ballots_are_throttled_before_any_proof_work(
    open_election: OpenElection, voter_client, voter, ballot_for
):
    election = open_election.election
    good = ballot_for(election, voter, [1, 0, 0])
    forged = tampered(good, lambda d: d["questions"][0]["selection_proofs"].reverse())
    with nothing_stored(election):
        for _ in range(services.REFUSED_BALLOT_LIMIT):
            assert post(voter_client, election, forged.encode()).status_code == 400
        response = post(voter_client, election, good.encode())
        assert response.status_code == 429
        assert "Too many invalid ballots" in response.json()["error"]
    cache.clear()  # the window has passed
    assert post(voter_client, election, good.encode()).status_code == 201


# --- Election lifecycle -------------------------------------------------------------------


def test_vote_before_the_scheduled_opening_is_409(
    open_election: OpenElection, voter_client, voter, ballot_for
):
    election = open_election.election
    Election.objects.filter(pk=election.pk).update(opens_at=timezone.now() + timedelta(minutes=5))
    with nothing_stored(election):
        refused(
            post(voter_client, election, ballot_for(election, voter, [1, 0, 0])),
            409,
            "not accepting",
        )


def test_vote_after_the_scheduled_closing_is_409(
    open_election: OpenElection, voter_client, voter, ballot_for
):
    election = open_election.election
    Election.objects.filter(pk=election.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    with nothing_stored(election):
        refused(
            post(voter_client, election, ballot_for(election, voter, [1, 0, 0])),
            409,
            "not accepting",
        )


def test_the_exact_closing_instant_is_already_closed(
    open_election: OpenElection, voter_client, voter, ballot_for
):
    election = open_election.election
    closing = timezone.now() + timedelta(hours=1)
    Election.objects.filter(pk=election.pk).update(closes_at=closing)
    body = ballot_for(election, voter, [1, 0, 0])
    with mock.patch("django.utils.timezone.now", return_value=closing), nothing_stored(election):
        refused(post(voter_client, election, body), 409, "not accepting")
    just_before = closing - timedelta(microseconds=1)
    with mock.patch("django.utils.timezone.now", return_value=just_before):
        assert post(voter_client, election, body).status_code == 201


def test_vote_in_a_closed_election_is_409(
    open_election: OpenElection, voter_client, voter, ballot_for, admin_user
):
    election = open_election.election
    body = ballot_for(election, voter, [1, 0, 0])
    services.close_election(election=election, actor=admin_user)
    with nothing_stored(election):
        refused(post(voter_client, election, body), 409, "not accepting")
    election.refresh_from_db()
    assert election.status == Status.CLOSED
