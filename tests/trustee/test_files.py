"""The trustee file formats: golden bytes, strict readers, every refusal named."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from elections.crypto.encoding import canonical_json
from elections.crypto.keys import public_key_to_json
from elections.crypto.threshold import KeyShare
from elections.trustee.decryption import combine_tally, partially_decrypt_tally
from elections.trustee.files import (
    EncryptedTally,
    TrusteeFileError,
    check_partial_file,
    dump_partial,
    dump_public_key,
    dump_share,
    dump_tally,
    load_public_key,
    load_share,
    load_tally,
    make_public_key,
    share_is_sealed,
    slot_context,
)

from .conftest import World
from .golden.regenerate import (
    CHOICES,
    GOLDEN_DIR,
    PRESENT,
    SEALED_PASSPHRASE,
    SEALED_SHARE_NAME,
    build,
    expected_counts,
    make_tally,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "trustee one's long passphrase"


def refused(reader: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(TrusteeFileError) as caught:
        reader(*args, **kwargs)
    return str(caught.value)


def edited(data: bytes, **changes: Any) -> bytes:
    return json.dumps({**json.loads(data), **changes}).encode()


def refingerprinted(document: dict[str, Any]) -> bytes:
    """The public key document with its fingerprint recomputed, as a careful forger would."""
    import hashlib

    body = {key: value for key, value in document.items() if key != "fingerprint"}
    fingerprint = hashlib.sha256(canonical_json(body).encode()).hexdigest()
    return canonical_json({**body, "fingerprint": fingerprint}).encode()


# Golden files --------------------------------------------------------------------------


def test_the_golden_files_are_reproduced_byte_for_byte() -> None:
    for name, data in build().items():
        assert (GOLDEN_DIR / name).read_bytes() == data, name


def test_the_golden_files_decrypt_to_the_counts(world: World) -> None:
    public = load_public_key((GOLDEN_DIR / "public.json").read_bytes())
    tally = load_tally((GOLDEN_DIR / "tally.json").read_bytes())
    assert public == world.public and tally == world.tally
    checked = [
        check_partial_file(public, tally, (GOLDEN_DIR / f"partial-{index}.json").read_bytes())
        for index in PRESENT
    ]
    assert (
        combine_tally(public, tally, checked) == expected_counts(CHOICES) == (3, 3, 1, 2, 3, 1, 2)
    )
    plain = load_share((GOLDEN_DIR / "trustee-1.json").read_bytes(), public=public, passphrase=None)
    sealed = (GOLDEN_DIR / SEALED_SHARE_NAME).read_bytes()
    assert share_is_sealed(sealed) and not share_is_sealed(
        dump_share(public, plain, passphrase=None)
    )
    opened = load_share(sealed, public=public, passphrase=SEALED_PASSPHRASE)
    assert (plain, opened) == (world.shares[0], world.shares[1])


# public.json ---------------------------------------------------------------------------


def test_the_public_key_round_trips_and_gives_the_paillier_key(world: World) -> None:
    data = dump_public_key(world.public)
    assert data == canonical_json(json.loads(data)).encode()
    assert load_public_key(data) == world.public
    assert world.public.paillier_public_key.n == world.public.key.n
    assert world.public.public_key_json() == public_key_to_json(world.public.paillier_public_key)
    assert world.public.fingerprint == json.loads(data)["fingerprint"]


def test_a_tampered_public_key_is_refused(world: World) -> None:
    data = dump_public_key(world.public)
    document = json.loads(data)
    keys = document["verification_keys"]
    for change in (
        {"verification_keys": [keys[1], keys[0], *keys[2:]]},
        {"threshold": "2"},
        {"election_id": "another-election"},
        {"v": keys[0]},
    ):
        assert "fingerprint does not match" in refused(load_public_key, edited(data, **change))
    # A forger who recomputes the fingerprint still cannot slip in a non-element...
    n = int(document["n"], 16)
    for bad in ("0", document["n"], format(n * n, "x"), format(n * n + 1, "x")):
        forged = refingerprinted({**document, "verification_keys": [keys[0], bad, *keys[2:]]})
        assert "verification key of trustee 2" in refused(load_public_key, forged)
    # ...and a well-formed substitute changes the fingerprint every share file names.
    forged = refingerprinted({**document, "verification_keys": [keys[1], *keys[1:]]})
    substitute = load_public_key(forged)
    share_file = dump_share(world.public, world.shares[0], passphrase=None)
    assert "another public key" in refused(
        load_share, share_file, public=substitute, passphrase=None
    )


def test_the_public_key_reader_is_strict(world: World) -> None:
    data = dump_public_key(world.public)
    document = json.loads(data)
    n_hex = document["n"]
    for bad, message in (
        (edited(data, format="evoting/trustee-public-key/v2"), "known format"),
        (edited(data, extra="1"), "unexpected fields"),
        (json.dumps({k: v for k, v in document.items() if k != "v"}).encode(), "missing"),
        (edited(data, n="0x" + n_hex), "hex"),
        (edited(data, n=n_hex.upper()), "hex"),
        (edited(data, threshold="03"), "hex"),
        (data.replace(b'"threshold":"3"', b'"threshold":3'), "numbers"),
        (edited(data, threshold="6"), "threshold"),
        (edited(data, threshold="0"), "threshold"),
        (edited(data, trustees="41"), "threshold"),
        (edited(data, verification_keys=document["verification_keys"][:4]), "one per trustee"),
        (edited(data, n=format(int(n_hex, 16) + 1, "x")), "odd"),
        (edited(data, n=format(int(n_hex, 16) >> 300 | 1, "x")), "bits"),
        (edited(data, fingerprint="F" * 64), "64 lowercase hex"),
        (b"[]", "JSON object"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b" " * (1 << 21), "larger than"),
    ):
        assert message in refused(load_public_key, bad), message


# Share files ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sealed_share(world: World) -> bytes:
    return dump_share(world.public, world.shares[0], passphrase=PASSPHRASE)


def test_a_sealed_share_opens_with_its_passphrase_and_hides_everything(
    world: World, sealed_share: bytes
) -> None:
    share = world.shares[0]
    assert load_share(sealed_share, public=world.public, passphrase=PASSPHRASE) == share
    assert format(share.share, "x").encode() not in sealed_share
    assert b"trustee-golden" not in sealed_share  # the election id is inside too
    assert json.loads(sealed_share)["format"] == "evoting/trustee-share-sealed/v1"
    message = refused(load_share, sealed_share, public=world.public, passphrase="a wrong guess")
    assert "wrong passphrase" in message
    assert format(share.share, "x") not in message
    assert "passphrase is required" in refused(
        load_share, sealed_share, public=world.public, passphrase=None
    )
    assert "modified" in refused(
        load_share, edited(sealed_share, kdf_r="9"), public=world.public, passphrase=PASSPHRASE
    )


def test_a_share_of_another_election_or_key_is_refused(
    world: World, stranger: tuple[Any, list[KeyShare]]
) -> None:
    elsewhere = make_public_key("another-election", world.public.key)
    share_file = dump_share(elsewhere, world.shares[0], passphrase=None)
    assert "belongs to election 'another-election'" in refused(
        load_share, share_file, public=world.public, passphrase=None
    )
    their_public, their_shares = stranger
    theirs = dump_share(their_public, their_shares[0], passphrase=None)
    assert "another public key" in refused(load_share, theirs, public=world.public, passphrase=None)


def test_a_tampered_share_is_refused(world: World) -> None:
    data = dump_share(world.public, world.shares[0], passphrase=None)
    share = world.shares[0].share
    for change, message in (
        ({"share": format(share + 1, "x")}, "does not match trustee 1's verification key"),
        ({"index": "2"}, "does not match trustee 2's verification key"),
        ({"index": "6"}, "not one of the key's 5"),
        ({"index": "0"}, "not one of the key's 5"),
        ({"share": format(share, "X")}, "hex"),
        ({"format": "evoting/trustee-share/v0"}, "known format"),
        ({"public_fingerprint": "0" * 63}, "64 lowercase hex"),
        ({"note": "hello"}, "unexpected fields"),
    ):
        text = refused(load_share, edited(data, **change), public=world.public, passphrase=None)
        assert message in text
        assert format(share, "x") not in text
    assert "not sealed" in refused(load_share, data, public=world.public, passphrase=PASSPHRASE)
    with pytest.raises(TrusteeFileError):
        dump_share(world.public, KeyShare(1, share + 1), passphrase=None)
    with pytest.raises(TrusteeFileError):
        dump_share(world.public, world.shares[0], passphrase="")


# tally.json ----------------------------------------------------------------------------


def test_the_tally_round_trips(world: World) -> None:
    data = dump_tally(world.tally)
    assert load_tally(data) == world.tally
    document = json.loads(data)
    assert document["ballot_count"] == "6" and len(document["ciphertexts"]) == 7
    assert document["params"]["election_id"] == document["election_id"]


def test_the_tally_reader_is_strict(world: World) -> None:
    data = dump_tally(world.tally)
    document = json.loads(data)
    totals = document["ciphertexts"]
    n = world.public.key.n
    for bad, message in (
        (edited(data, ciphertexts=totals[:6]), "expected 7 items"),
        (edited(data, ciphertexts=[*totals, totals[0]]), "expected 7 items"),
        (edited(data, ciphertexts=["0", *totals[1:]]), "total of slot 0"),
        (edited(data, ciphertexts=[*totals[:3], format(n, "x"), *totals[4:]]), "slot 3"),
        (edited(data, ciphertexts=[*totals[:6], format(n * n, "x")]), "slot 6"),
        (edited(data, election_id="another-election"), "not its parameters'"),
        (edited(data, closing_hash=document["closing_hash"].upper()), "closing_hash"),
        (edited(data, ballot_count="-1"), "ballot_count"),
        (edited(data, params={**document["params"], "n": "0"}), "tally params"),
        (edited(data, params={**document["params"], "format": "x"}), "tally params"),
        (edited(data, format="evoting/encrypted-tally/v2"), "known format"),
        (edited(data, board="head"), "unexpected fields"),
    ):
        assert message in refused(load_tally, bad), message
    with pytest.raises(TrusteeFileError):
        EncryptedTally(world.tally.params, 6, world.tally.closing_hash, (1,) * 6)
    with pytest.raises(TrusteeFileError):
        EncryptedTally(world.tally.params, -1, world.tally.closing_hash, world.tally.ciphertexts)


def test_decrypting_a_tally_of_another_election_or_key_is_refused(
    world: World, stranger: tuple[Any, list[KeyShare]]
) -> None:
    elsewhere = make_tally(world.public, election_id="another-election")
    share = world.shares[0]
    assert "election 'another-election'" in refused(
        partially_decrypt_tally, world.public, share, elsewhere
    )
    other_key = make_tally(stranger[0])
    assert "another key" in refused(partially_decrypt_tally, world.public, share, other_key)


# Partial decryptions -------------------------------------------------------------------


def test_the_slot_context_binds_the_parameters_and_the_slot(world: World) -> None:
    params = world.tally.params
    assert slot_context(params, 6) == params.fingerprint + "/slot/6"
    with pytest.raises(ValueError, match="no such slot"):
        slot_context(params, 7)


def test_every_trustees_partials_check_and_round_trip(world: World) -> None:
    for partial in world.partials.values():
        assert check_partial_file(world.public, world.tally, dump_partial(partial)) == partial


def test_any_k_of_the_n_trustees_give_the_same_counts(world: World) -> None:
    expected = expected_counts(CHOICES)
    for size in (3, 4, 5):
        for group in itertools.combinations(world.partials.values(), size):
            assert combine_tally(world.public, world.tally, group) == expected


def test_fewer_than_k_trustees_give_nothing(world: World) -> None:
    for group in itertools.combinations(world.partials.values(), 2):
        message = refused(combine_tally, world.public, world.tally, group)
        absent = ", ".join(str(i) for i in range(1, 6) if i not in {p.trustee for p in group})
        assert f"1 more needed, from any of trustees {absent}" in message
    assert "trustees: none" in refused(combine_tally, world.public, world.tally, [])


def test_the_same_trustee_twice_is_refused(world: World) -> None:
    first = world.partials[1]
    again = partially_decrypt_tally(world.public, world.shares[0], world.tally)
    assert again != first  # a fresh proof, equally valid
    message = refused(combine_tally, world.public, world.tally, [first, world.partials[2], again])
    assert "trustee 1 sent two partial decryptions" in message


def _partial_document(world: World, trustee: int) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(dump_partial(world.partials[trustee]))
    return document


def test_a_wrong_proof_is_refused_with_the_trustee_and_slot(world: World) -> None:
    n_square = world.public.key.n_square
    document = _partial_document(world, 3)
    slot = document["partials"][2]
    for field, value in (
        ("value", format(int(slot["value"], 16) * 4 % n_square, "x")),
        ("response", format(int(slot["response"], 16) + 1, "x")),
        ("challenge", format(int(slot["challenge"], 16) ^ 1, "x")),
    ):
        partials = list(document["partials"])
        partials[2] = {**slot, field: value}
        message = refused(
            check_partial_file, world.public, world.tally, {**document, "partials": partials}
        )
        assert message.startswith("trustee 3, slot 2 (question 1, option 3):"), message
        assert "does not hold for this tally" in message
    swapped = [document["partials"][1], document["partials"][0], *document["partials"][2:]]
    assert "trustee 3, slot 0" in refused(
        check_partial_file, world.public, world.tally, {**document, "partials": swapped}
    )
    out_of_range = [{**slot, "value": "0"}, *document["partials"][1:]]
    assert "trustee 3, slot 0 (question 1, option 1): value" in refused(
        check_partial_file, world.public, world.tally, {**document, "partials": out_of_range}
    )


def test_a_partial_from_an_unknown_or_relabelled_trustee_is_refused(world: World) -> None:
    document = _partial_document(world, 1)
    for index in ("6", "0", "40"):
        message = refused(
            check_partial_file, world.public, world.tally, {**document, "trustee": index}
        )
        assert f"trustee {int(index, 16)} is not one of this key's 5 trustees" in message
    # Trustee 1's values claimed by trustee 2: the proof is bound to v_2.
    assert "trustee 2, slot 0" in refused(
        check_partial_file, world.public, world.tally, {**document, "trustee": "2"}
    )


def test_a_partial_for_another_tally_or_election_is_refused(
    world: World, other_tally: EncryptedTally
) -> None:
    data = dump_partial(world.partials[4])
    message = refused(check_partial_file, world.public, other_tally, data)
    assert message.startswith("trustee 4, slot 0") and "for this tally" in message
    elsewhere = make_tally(world.public, election_id="another-election")
    # The public key names its election: the tally of another election is refused first...
    assert "election 'another-election'" in refused(
        check_partial_file, world.public, elsewhere, data
    )
    # ...and a partial naming other parameters is refused before any proof is checked.
    assert "trustee 4's partial decryption is of another election" in refused(
        check_partial_file, world.public, world.tally, edited(data, election_id="another-election")
    )
    assert "trustee 4's partial decryption is for other election parameters" in refused(
        check_partial_file, world.public, world.tally, edited(data, params_fingerprint="a" * 64)
    )


def test_the_partial_reader_is_strict(world: World) -> None:
    data = dump_partial(world.partials[5])
    document = json.loads(data)
    for bad, message in (
        (edited(data, partials=document["partials"][:6]), "trustee 5: partials"),
        (edited(data, format="evoting/partial-decryption/v0"), "known format"),
        ({**document, "trustee": 5}, "expected a hex string"),
        (edited(data, comment="x"), "unexpected fields"),
        (
            edited(data, partials=[{**document["partials"][0], "extra": "1"}] * 7),
            "trustee 5, slot 0",
        ),
        (b"[1]", "numbers"),
        (b"x" * (1 << 23), "larger than"),
    ):
        assert message in refused(check_partial_file, world.public, world.tally, bad), message


# The trust boundary --------------------------------------------------------------------


def test_the_trustee_tool_imports_nothing_of_the_site() -> None:
    code = (
        "import sys, elections.trustee, elections.trustee.cli, elections.trustee.decryption\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    modules = result.stdout.split()
    assert not [name for name in modules if name.split(".")[0] in ("django", "evoting", "accounts")]
    ours = {name for name in modules if name.startswith("elections.")}
    assert ours and all(name.startswith(("elections.crypto", "elections.trustee")) for name in ours)
