"""Trustees: their key, the totals they decrypt, their partial decryptions, the publication."""

import json
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import AuditEntry, Role
from elections import services
from elections.crypto.threshold import KeyShare, deal
from elections.models import Election, Result, Status, TrusteeDecryption
from elections.trustee.decryption import partially_decrypt_tally
from elections.trustee.files import (
    TrusteePublicKey,
    dump_partial,
    dump_public_key,
    dump_share,
    load_tally,
    make_public_key,
)

BITS = 512
QUESTIONS = [
    {"title": "Chair", "options": ["Ada", "Grace", "Alan"]},
    {"title": "Meet online?", "options": ["Yes", "No"], "allow_blank": True},
]
# Per voter: chair (3 options), then yes/no/blank.
CHOICES = [
    [1, 0, 0, 1, 0, 0],
    [0, 1, 0, 0, 1, 0],
    [1, 0, 0, 0, 0, 1],
    [0, 0, 1, 1, 0, 0],
]
EXPECTED = [2, 1, 1, 2, 1, 1]


@dataclass
class TrusteeElection:
    election: Election
    public: TrusteePublicKey
    shares: list[KeyShare]

    def partial(self, index: int, tally_json: bytes | None = None) -> bytes:
        tally = load_tally(tally_json or services.tally_document(self.election))
        share = self.shares[index - 1]
        return dump_partial(partially_decrypt_tally(self.public, share, tally))

    def submit(self, *indices: int) -> None:
        for index in indices:
            services.submit_partial(
                election=self.election, document=self.partial(index), actor=None
            )


def ceremony(election: Election, threshold: int = 3, trustees: int = 5):
    key, shares = deal(BITS, threshold, trustees)
    return make_public_key(str(election.id), key), shares


def with_trustees(election: Election, actor, threshold: int = 3, trustees: int = 5):
    public, shares = ceremony(election, threshold, trustees)
    services.set_election_key(election=election, public_file=dump_public_key(public), actor=actor)
    return TrusteeElection(election, public, shares)


def vote_and_close(world: TrusteeElection, actor, make_user, ballot_for) -> TrusteeElection:
    election = world.election
    services.open_election(election=election, actor=actor)
    for number, choice in enumerate(CHOICES):
        voter = make_user(f"voter_{number}")
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, choice)
        )
    services.close_election(election=election, actor=actor)
    return world


@pytest.fixture
def trustee_draft(make_election, admin_user) -> TrusteeElection:
    return with_trustees(make_election("assembly", questions=QUESTIONS), admin_user)


@pytest.fixture
def closed_trustee_election(trustee_draft, admin_user, make_user, ballot_for) -> TrusteeElection:
    return vote_and_close(trustee_draft, admin_user, make_user, ballot_for)


@pytest.fixture
def closed_two_of_three(make_election, admin_user, make_user, ballot_for) -> TrusteeElection:
    election = make_election("council", questions=QUESTIONS)
    world = with_trustees(election, admin_user, threshold=2, trustees=3)
    return vote_and_close(world, admin_user, make_user, ballot_for)


def counts_of(election: Election) -> list[int]:
    return [r.count for r in Result.objects.filter(election=election).order_by("slot")]


# --- The key --------------------------------------------------------------------------


def test_the_trustees_key_becomes_the_election_key(trustee_draft):
    election = trustee_draft.election
    election.refresh_from_db()
    assert election.trustee_key.encode() == dump_public_key(trustee_draft.public)
    assert election.public_key == trustee_draft.public.public_key_json()
    entry = AuditEntry.objects.get(action="elections.key.set_by_trustees")
    assert entry.data == {
        "threshold": 3,
        "trustees": 5,
        "fingerprint": trustee_draft.public.fingerprint,
    }


def test_a_key_of_another_election_is_refused(make_election, admin_user):
    election = make_election("assembly")
    other, _ = ceremony(make_election("other"))
    with pytest.raises(services.KeyRefused, match="made for election"):
        services.set_election_key(
            election=election, public_file=dump_public_key(other), actor=admin_user
        )
    election.refresh_from_db()
    assert election.public_key == election.trustee_key == ""


@pytest.mark.parametrize("passphrase", [None, "a long enough passphrase 1"])
def test_a_share_file_is_refused_as_a_key(make_election, admin_user, passphrase):
    election = make_election("assembly")
    public, shares = ceremony(election)
    share_file = dump_share(public, shares[0], passphrase=passphrase)
    with pytest.raises(services.KeyRefused, match="key share"):
        services.set_election_key(election=election, public_file=share_file, actor=admin_user)
    election.refresh_from_db()
    assert election.public_key == election.trustee_key == ""
    assert AuditEntry.objects.filter(action="elections.trustee.share_refused").count() == 1


def test_the_key_cannot_change_once_open(trustee_draft, admin_user):
    election = trustee_draft.election
    services.open_election(election=election, actor=admin_user)
    public, _ = ceremony(election)
    with pytest.raises(services.WrongPhase):
        services.set_election_key(
            election=election, public_file=dump_public_key(public), actor=admin_user
        )
    election.refresh_from_db()
    assert election.trustee_key.encode() == dump_public_key(trustee_draft.public)


def test_the_set_election_key_command(make_election, tmp_path, capsys):
    election = make_election("assembly")
    public, shares = ceremony(election)
    path = tmp_path / "public.json"
    path.write_bytes(dump_public_key(public))
    call_command("set_election_key", "assembly", str(path))
    assert "any 3 of 5 trustees" in capsys.readouterr().out
    share_path = tmp_path / "trustee-1.json"
    share_path.write_bytes(dump_share(public, shares[0], passphrase=None))
    with pytest.raises(CommandError, match="key share"):
        call_command("set_election_key", "assembly", str(share_path))


# --- End to end -------------------------------------------------------------------------


def test_three_of_five_publish_the_right_counts(closed_trustee_election, tmp_path):
    world = closed_trustee_election
    election = world.election
    out = tmp_path / "tally.json"
    call_command("export_tally", election.slug, "--out", str(out))
    tally_json = out.read_bytes()
    assert tally_json == services.tally_document(election)
    for index in (1, 3, 5):
        services.submit_partial(
            election=election, document=world.partial(index, tally_json), actor=None
        )
    report = services.publish_with_trustees(election=election, actor=None)
    assert [item.count for item in report.counts] == EXPECTED
    assert report.ballots == len(CHOICES)
    election.refresh_from_db()
    assert election.status == Status.PUBLISHED
    assert counts_of(election) == EXPECTED
    assert set(Result.objects.filter(election=election).values_list("proof", flat=True)) == {""}
    # Publishing again gives the same counts.
    again = services.publish_with_trustees(election=election, actor=None)
    assert again.already_published and [i.count for i in again.counts] == EXPECTED


def test_another_set_of_three_gives_the_same_counts(closed_trustee_election, capsys):
    world = closed_trustee_election
    world.submit(2, 4, 5)
    call_command("tally", world.election.slug, "--quiet", "--json")
    document = json.loads(capsys.readouterr().out)
    assert document["ballots"] == len(CHOICES)
    assert [o["count"] for o in document["questions"][0]["options"]] == EXPECTED[:3]
    assert counts_of(world.election) == EXPECTED


def test_partials_from_files_through_the_command(closed_trustee_election, tmp_path, capsys):
    world = closed_trustee_election
    path = tmp_path / "partial-2.json"
    path.write_bytes(world.partial(2))
    call_command("submit_partial", world.election.slug, str(path))
    assert "trustee 2" in capsys.readouterr().out
    assert TrusteeDecryption.objects.filter(election=world.election, trustee=2).exists()


def test_fewer_than_k_names_who_is_missing(closed_trustee_election):
    world = closed_trustee_election
    world.submit(2, 4)
    with pytest.raises(services.WrongPhase, match=r"1 more needed, from any of trustees 1, 3, 5"):
        services.publish_with_trustees(election=world.election, actor=None)
    world.election.refresh_from_db()
    assert world.election.status == Status.CLOSED
    assert not Result.objects.filter(election=world.election).exists()
    with pytest.raises(CommandError, match="1 more needed"):
        call_command("tally", world.election.slug, "--quiet")


def test_a_tampered_stored_partial_stops_the_publication(closed_trustee_election):
    world = closed_trustee_election
    world.submit(1, 2, 3)
    row = TrusteeDecryption.objects.get(election=world.election, trustee=2)
    row.content = world.partial(4).decode()
    row.save()
    with pytest.raises(services.TallyMismatch, match="trustee 2"):
        services.publish_with_trustees(election=world.election, actor=None)
    assert not Result.objects.filter(election=world.election).exists()


def test_tally_without_key_on_a_single_key_election(open_election, admin_user):
    election = open_election.election
    services.close_election(election=election, actor=admin_user)
    with pytest.raises(CommandError, match="--key"):
        call_command("tally", election.slug, "--quiet")


# --- Refused partial decryptions ---------------------------------------------------------


def refused(world: TrusteeElection, document: bytes, match: str, error=services.KeyRefused):
    with pytest.raises(error, match=match):
        services.submit_partial(election=world.election, document=document, actor=None)
    assert not TrusteeDecryption.objects.filter(election=world.election).exclude(trustee=1).exists()


def test_a_wrong_proof_is_refused_naming_the_trustee(closed_trustee_election):
    world = closed_trustee_election
    document = json.loads(world.partial(3))
    document["partials"][0]["response"] = format(
        int(document["partials"][0]["response"], 16) + 1, "x"
    )
    refused(world, json.dumps(document).encode(), r"trustee 3, slot 0 .*")


def test_a_partial_of_another_election_is_refused(closed_trustee_election, make_election):
    world = closed_trustee_election
    document = json.loads(world.partial(2))
    document["election_id"] = str(make_election("elsewhere").id)
    refused(world, json.dumps(document).encode(), "trustee 2's partial decryption is of another")


def test_a_partial_for_another_tally_is_refused(closed_trustee_election):
    world = closed_trustee_election
    tally = load_tally(services.tally_document(world.election))
    # The same election and key, other totals: the first total squared.
    other = type(tally)(
        tally.params,
        tally.ballot_count,
        tally.closing_hash,
        (tally.ciphertexts[0] ** 2 % tally.params.n**2, *tally.ciphertexts[1:]),
    )
    document = dump_partial(partially_decrypt_tally(world.public, world.shares[3], other))
    refused(world, document, "trustee 4, slot 0 .*for this tally")


def test_an_unknown_trustee_index_is_refused(closed_trustee_election):
    world = closed_trustee_election
    document = json.loads(world.partial(1))
    document["trustee"] = "6"
    with pytest.raises(services.KeyRefused, match="trustee 6 is not one of this key's 5"):
        services.submit_partial(
            election=world.election, document=json.dumps(document).encode(), actor=None
        )
    assert not TrusteeDecryption.objects.exists()


def test_a_second_submission_is_refused(closed_trustee_election):
    world = closed_trustee_election
    world.submit(1)
    first = TrusteeDecryption.objects.get(election=world.election, trustee=1)
    refused(world, world.partial(1), "Trustee 1 has already submitted", services.AlreadySubmitted)
    assert TrusteeDecryption.objects.get(election=world.election, trustee=1) == first
    assert TrusteeDecryption.objects.get(election=world.election).content == first.content


def test_partials_only_while_closed(trustee_draft, admin_user):
    services.open_election(election=trustee_draft.election, actor=admin_user)
    with pytest.raises(services.WrongPhase):
        services.submit_partial(election=trustee_draft.election, document=b"{}", actor=None)


def test_a_share_file_is_refused_as_a_partial(closed_trustee_election):
    world = closed_trustee_election
    share = dump_share(world.public, world.shares[0], passphrase=None)
    refused(world, share, "key share")
    assert not TrusteeDecryption.objects.exists()


# --- The web process never receives a share ----------------------------------------------


def test_the_encrypted_totals_are_public_once_closed(closed_trustee_election, client):
    url = reverse("elections:tally_json", args=[closed_trustee_election.election.slug])
    response = client.get(url)
    assert response.status_code == 200
    assert response.content == services.tally_document(closed_trustee_election.election)


def test_no_totals_before_the_close(trustee_draft, admin_user, client):
    services.open_election(election=trustee_draft.election, actor=admin_user)
    response = client.get(reverse("elections:tally_json", args=["assembly"]))
    assert response.status_code == 409
    assert "error" in response.json()
    with pytest.raises(CommandError, match="once the election is closed"):
        call_command("export_tally", "assembly", "--out", "/nonexistent/tally.json")


def share_upload(world: TrusteeElection) -> SimpleUploadedFile:
    data = dump_share(world.public, world.shares[0], passphrase=None)
    return SimpleUploadedFile("trustee-1.json", data, content_type="application/json")


def test_the_key_upload_page_refuses_a_share(make_election, admin_user, login_as):
    election = make_election("assembly")
    public, shares = ceremony(election)
    world = TrusteeElection(election, public, shares)
    client = login_as(admin_user)
    url = reverse("admin:elections_election_trustee_key", args=[election.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"public_file": share_upload(world)})
    assert response.status_code == 400
    assert "key share" in response.content.decode()
    election.refresh_from_db()
    assert election.trustee_key == ""
    good = SimpleUploadedFile("public.json", dump_public_key(public))
    response = client.post(url, {"public_file": good})
    assert response.status_code == 302
    election.refresh_from_db()
    assert election.trustee_key.encode() == dump_public_key(public)


def test_the_partial_upload_page(closed_trustee_election, admin_user, login_as, voter):
    world = closed_trustee_election
    url = reverse("admin:elections_election_partial", args=[world.election.pk])
    assert login_as(voter).post(url, {"partial_file": share_upload(world)}).status_code == 302
    client = login_as(admin_user)
    response = client.post(url, {"partial_file": share_upload(world)})
    assert response.status_code == 400
    assert "key share" in response.content.decode()
    partial = SimpleUploadedFile("partial-4.json", world.partial(4))
    assert client.post(url, {"partial_file": partial}).status_code == 302
    assert TrusteeDecryption.objects.filter(election=world.election, trustee=4).exists()
    partial.seek(0)
    response = client.post(url, {"partial_file": partial})
    assert response.status_code == 409
    assert "already submitted" in response.content.decode()


def test_the_cast_endpoint_refuses_a_share(trustee_draft, admin_user, voter, login_as):
    election = trustee_draft.election
    services.open_election(election=election, actor=admin_user)
    data = dump_share(trustee_draft.public, trustee_draft.shares[0], passphrase=None)
    response = login_as(voter).post(
        reverse("elections:cast", args=[election.slug]), data, content_type="application/json"
    )
    assert 400 <= response.status_code < 500
    assert not election.ballots.exists()


def test_seed_demo_with_trustees(db, tmp_path, capsys):
    out = tmp_path / "trustees"
    call_command(
        "seed_demo",
        "--voters",
        "3",
        "--cast",
        "2",
        "--bits",
        "512",
        "--trustees",
        "3",
        "--threshold",
        "2",
        "--key-out",
        str(out),
    )
    captured = capsys.readouterr()
    assert "UNSEALED DEMO SHARES" in captured.err
    assert sorted(p.name for p in out.iterdir()) == [
        "public.json",
        "trustee-1.json",
        "trustee-2.json",
        "trustee-3.json",
    ]
    election = Election.objects.get(slug="demo")
    assert election.trustee_key.encode() == (out / "public.json").read_bytes()
    assert election.status == Status.OPEN and election.ballots.count() == 2
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "seed_demo",
            "--bits",
            "512",
            "--trustees",
            "3",
            "--threshold",
            "2",
            "--key-out",
            str(out),
        )
    with pytest.raises(CommandError, match="go together"):
        call_command("seed_demo", "--bits", "512", "--trustees", "3")


# --- Publishing from the admin -------------------------------------------------------------


def publish_url(election: Election) -> str:
    return reverse("admin:elections_election_publish_trustees", args=[election.pk])


def test_an_administrator_publishes_two_of_three_from_the_admin(
    closed_two_of_three, admin_user, login_as
):
    world = closed_two_of_three
    election = world.election
    world.submit(1, 3)
    client = login_as(admin_user)
    change = client.get(reverse("admin:elections_election_change", args=[election.pk]))
    assert publish_url(election) in change.content.decode()
    decrypt = client.post(
        reverse("admin:elections_election_changelist"),
        {"action": "decrypt_and_publish", "_selected_action": [str(election.pk)]},
    )
    assert decrypt.status_code == 302 and decrypt["Location"] == publish_url(election)
    page = client.get(publish_url(election)).content.decode()
    assert "any 2 of the 3 trustees" in page
    assert "Submitted (2 of 3): trustee 1, trustee 3." in page
    assert "Not submitted: trustee 2." in page
    response = client.post(publish_url(election), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<td>Chair</td><td>Ada</td><td>2</td><td>50.0%</td>" in html
    assert "The result is now published." in html
    assert "Published 1 election (council)" in html
    election.refresh_from_db()
    assert election.status == Status.PUBLISHED
    assert counts_of(election) == EXPECTED
    entry = AuditEntry.objects.get(action="elections.tally.decrypted")
    assert entry.actor == admin_user and entry.data["trustees"] == [1, 3]


def test_with_one_trustee_the_admin_page_says_how_many_are_missing(
    closed_two_of_three, admin_user, login_as
):
    world = closed_two_of_three
    world.submit(2)
    response = login_as(admin_user).post(publish_url(world.election))
    assert response.status_code == 409
    assert "1 more needed, from any of trustees 1, 3" in response.content.decode()
    world.election.refresh_from_db()
    assert world.election.status == Status.CLOSED
    assert not Result.objects.filter(election=world.election).exists()


def test_only_administrators_publish_with_the_trustees(
    closed_two_of_three, make_user, voter, login_as
):
    world = closed_two_of_three
    world.submit(1, 2)
    url = publish_url(world.election)
    refused = login_as(voter).post(url)
    assert refused.status_code == 302 and "/login/" in refused["Location"]
    without_rights = make_user("stan_staff", Role.ADMINISTRATOR, is_superuser=False)
    client = login_as(without_rights)
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    world.election.refresh_from_db()
    assert world.election.status == Status.CLOSED
    assert not Result.objects.filter(election=world.election).exists()


def test_opening_the_publish_page_publishes_nothing(closed_two_of_three, admin_user, login_as):
    world = closed_two_of_three
    world.submit(1, 2)
    response = login_as(admin_user).get(publish_url(world.election))
    assert response.status_code == 200
    assert 'type="submit"' in response.content.decode()
    world.election.refresh_from_db()
    assert world.election.status == Status.CLOSED
    assert not Result.objects.filter(election=world.election).exists()
