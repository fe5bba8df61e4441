"""The browser's trustee files, read and checked by Python: the same bytes, the same refusals.

The ceremony page seals shares and writes ``public.json`` with
``elections/static/elections/js/trustee-files.mjs``; the trustee page writes
partial decryptions with it. Here Node runs that code
(``tests/js/trustee-files-for-python.mjs``) and the trustee tool's readers
judge what it wrote; ``tests/js/trustee-files.test.mjs`` checks the other
way, on the golden files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from elections.crypto.encoding import canonical_json
from elections.crypto.sealing import unseal
from elections.trustee import files
from elections.trustee.decryption import combine_tally
from elections.trustee.files import (
    SEALED_SHARE_FORMAT,
    TrusteeFileError,
    TrusteePublicKey,
    check_partial_file,
    dump_public_key,
    dump_share,
    load_public_key,
    load_share,
    load_tally,
    make_public_key,
    share_is_sealed,
)

from .conftest import World
from .golden.regenerate import (
    CHOICES,
    GOLDEN_DIR,
    SEALED_PASSPHRASE,
    SEALED_SHARE_NAME,
    expected_counts,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_ROOT / "tests" / "js" / "trustee-files-for-python.mjs"
PASSPHRASE = "a trustee's passphrase, typed in the browser"


def node(request: dict[str, Any]) -> str:
    """Run one request through the browser modules under Node; return what they wrote."""
    executable = shutil.which("node")
    assert executable is not None, "node is needed to pin the browser modules to Python"
    result = subprocess.run(
        [executable, str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def golden(name: str) -> str:
    return (GOLDEN_DIR / name).read_text()


def edited(text: str, **changes: Any) -> str:
    return json.dumps({**json.loads(text), **changes})


def without(text: str, field: str) -> str:
    return json.dumps({key: value for key, value in json.loads(text).items() if key != field})


def python_verdict(reader: Callable[[str], object], text: str) -> str | None:
    try:
        reader(text)
    except TrusteeFileError as exc:
        return str(exc)
    return None


# What the browser writes, Python reads -------------------------------------------------


def test_a_share_sealed_in_the_browser_opens_in_the_trustee_tool(world: World) -> None:
    share = world.shares[1]
    sealed = node(
        {
            "action": "seal-share",
            "public": golden("public.json"),
            "index": share.index,
            "share": format(share.share, "x"),
            "passphrase": PASSPHRASE,
        }
    )
    assert share_is_sealed(sealed)
    document = json.loads(sealed)
    assert canonical_json(document) == sealed
    assert (document["kdf"], document["kdf_log2_n"], document["kdf_r"], document["kdf_p"]) == (
        "scrypt",
        "11",
        "8",
        "1",
    )
    assert load_share(sealed, public=world.public, passphrase=PASSPHRASE) == share
    plain = unseal(
        document,
        PASSPHRASE,
        sealed_format=SEALED_SHARE_FORMAT,
        error=TrusteeFileError,
        what="share file",
    )
    assert plain == dump_share(world.public, share, passphrase=None)

    with pytest.raises(TrusteeFileError, match="wrong passphrase, or the share file was modified"):
        load_share(sealed, public=world.public, passphrase=PASSPHRASE + "!")
    with pytest.raises(TrusteeFileError, match="a passphrase is required"):
        load_share(sealed, public=world.public, passphrase=None)


def test_a_public_key_made_in_the_browser_is_byte_for_byte_pythons(
    world: World, stranger: tuple[TrusteePublicKey, Any]
) -> None:
    for public in (
        world.public,
        stranger[0],
        make_public_key('o\'brien "2027" \\ board', world.public.key),
    ):
        key = public.key
        made = node(
            {
                "action": "public-key",
                "election_id": public.election_id,
                "n": format(key.n, "x"),
                "threshold": key.threshold,
                "trustees": key.trustees,
                "v": format(key.v, "x"),
                "verification_keys": [format(value, "x") for value in key.verification_keys],
            }
        )
        assert made.encode() == dump_public_key(public)
        assert load_public_key(made) == public


@pytest.mark.parametrize(
    ("share_file", "passphrase", "index"),
    [("trustee-1.json", None, 1), (SEALED_SHARE_NAME, SEALED_PASSPHRASE, 2)],
)
def test_a_partial_decryption_made_in_the_browser_passes_pythons_check(
    world: World, share_file: str, passphrase: str | None, index: int
) -> None:
    made = node(
        {
            "action": "partial",
            "public": golden("public.json"),
            "share": golden(share_file),
            "passphrase": passphrase,
            "tally": golden("tally.json"),
        }
    )
    assert canonical_json(json.loads(made)) == made
    checked = check_partial_file(world.public, world.tally, made)
    assert checked.trustee == index
    assert [p.value for p in checked.partials] == [p.value for p in world.partials[index].partials]
    others = [world.partials[other] for other in (3, 4, 5) if other != index][:2]
    counts = combine_tally(world.public, world.tally, [checked, *others])
    assert counts == expected_counts(CHOICES)

    document = json.loads(made)
    value = document["partials"][0]["value"]
    document["partials"][0]["value"] = value[:-1] + ("1" if value[-1] != "1" else "2")
    with pytest.raises(TrusteeFileError) as caught:
        check_partial_file(world.public, world.tally, json.dumps(document))
    assert str(caught.value).startswith(f"trustee {index}, slot 0 (")
    assert str(caught.value).endswith(
        ": the proof of correct partial decryption does not hold for this tally"
    )


def test_the_browser_size_caps_are_pythons() -> None:
    assert json.loads(node({"action": "limits"})) == {
        "MAX_PUBLIC_BYTES": files.MAX_PUBLIC_BYTES,
        "MAX_SHARE_BYTES": files.MAX_SHARE_BYTES,
        "MAX_TALLY_BYTES": files.MAX_TALLY_BYTES,
        "MAX_PARTIAL_BYTES": files.MAX_PARTIAL_BYTES,
    }


# What Python refuses, the browser refuses, in the same words ----------------------------


def public_key_variants() -> list[str]:
    text = golden("public.json")
    document = json.loads(text)
    n = document["n"]
    keys = document["verification_keys"]
    return [
        text,
        edited(text, threshold="4"),
        edited(text, fingerprint="0" * 64),
        edited(text, fingerprint="F" * 64),
        edited(text, threshold="6"),
        edited(text, trustees="41"),
        edited(text, threshold="03"),
        edited(text, threshold=True),
        edited(text, n=[n]),
        edited(text, n=n[:-1] + "4"),
        edited(text, n="ff"),
        edited(text, n=format((1 << 8192) | 1, "x")),
        edited(text, v="0"),
        edited(text, v=n),
        edited(text, v=format(int(n, 16) ** 2, "x")),
        edited(text, verification_keys=[*keys[:2], "0", *keys[3:]]),
        edited(text, verification_keys=keys[1:]),
        edited(text, verification_keys={"1": keys[0]}),
        edited(text, election_id=None),
        edited(text, election_id=""),
        edited(text, election_id="x" * 129),
        edited(text, election_id="caf\u00e9"),
        edited(text, **{"it's": "1", "b": "2"}),
        without(text, "v"),
        edited(text, format="evoting/trustee-public-key/v2"),
        without(text, "format"),
        text.replace('"threshold":"3"', '"threshold":3'),
        text.replace('"threshold":"3"', '"threshold":NaN'),
        text.replace('{"election_id"', '{"n":"3","election_id"'),
        text[:-1],
        text + "x",
        "\ufeff" + text,
        "[]",
        "null",
        '"public"',
        "[" * 100_000,
        "\ud800",
        " " * (files.MAX_PUBLIC_BYTES + 1),
    ]


def share_variants() -> list[str]:
    text = golden("trustee-1.json")
    share = json.loads(text)["share"]
    return [
        text,
        edited(text, election_id="another-election"),
        edited(text, election_id="o'brien"),
        edited(text, public_fingerprint="f" * 64),
        edited(text, public_fingerprint="short"),
        edited(text, index="2"),
        edited(text, index="6"),
        edited(text, index="0"),
        edited(text, index="100"),
        edited(text, share=format(int(share, 16) + 1, "x")),
        edited(text, share="1" * 257),
        edited(text, format=SEALED_SHARE_FORMAT),
        edited(text, format="evoting/trustee-share/v0"),
        without(text, "index"),
        " " * (files.MAX_SHARE_BYTES + 1),
    ]


def sealed_share_variants() -> list[str]:
    text = golden(SEALED_SHARE_NAME)
    salt = json.loads(text)["salt"]
    return [
        edited(text, kdf_log2_n="15"),
        edited(text, kdf_log2_n="13", kdf_r="10"),
        edited(text, kdf_log2_n="d"),
        edited(text, kdf_log2_n="e", kdf_r="11"),
        edited(text, kdf_log2_n="e", kdf_r="0"),
        edited(text, kdf_log2_n="e", kdf_p="5"),
        edited(text, kdf_p="0"),
        edited(text, kdf_log2_n="0b"),
        edited(text, kdf="pbkdf2"),
        edited(text, cipher="aes-128-gcm"),
        edited(text, salt=salt[2:]),
        edited(text, salt=salt.upper()),
        edited(text, nonce=0),
        edited(text, ciphertext="abc"),
        edited(text, comment="hi"),
        without(text, "nonce"),
        edited(text, format="evoting/trustee-share-sealed/v0"),
        edited(text, salt=("1" if salt[0] == "0" else "0") + salt[1:]),
    ]


def tally_variants() -> list[str]:
    text = golden("tally.json")
    document = json.loads(text)
    totals = document["ciphertexts"]
    return [
        text,
        edited(text, ballot_count="0"),
        edited(text, ciphertexts=totals[1:]),
        edited(text, ciphertexts=["0", *totals[1:]]),
        edited(text, ciphertexts=[*totals[:6], document["params"]["n"]]),
        edited(text, ciphertexts="none"),
        edited(text, election_id="another-election"),
        edited(text, ballot_count="06"),
        edited(text, ballot_count="1" * 17),
        edited(text, closing_hash=document["closing_hash"].upper()),
        edited(text, closing_hash=None),
        edited(text, format="evoting/encrypted-tally/v2"),
        without(text, "ballot_count"),
        " " * (files.MAX_TALLY_BYTES + 1),
    ]


def test_the_browser_refuses_public_keys_as_python_does() -> None:
    variants = public_key_variants()
    expected = [python_verdict(load_public_key, text) for text in variants]
    assert expected[0] is None and expected.count(None) == 1
    assert json.loads(node({"action": "read", "reader": "public", "files": variants})) == expected


@pytest.mark.parametrize(
    ("variants", "passphrase"),
    [(share_variants, None), (sealed_share_variants, SEALED_PASSPHRASE)],
)
def test_the_browser_refuses_shares_as_python_does(
    world: World, variants: Callable[[], list[str]], passphrase: str | None
) -> None:
    texts = variants()
    expected = [
        python_verdict(
            lambda text: load_share(text, public=world.public, passphrase=passphrase), text
        )
        for text in texts
    ]
    assert None not in expected[1:]
    request = {
        "action": "read",
        "reader": "share",
        "public": golden("public.json"),
        "passphrase": passphrase,
        "files": texts,
    }
    assert json.loads(node(request)) == expected


def test_the_browser_refuses_tallies_as_python_does() -> None:
    variants = tally_variants()
    expected = [python_verdict(load_tally, text) for text in variants]
    assert expected[:2] == [None, None] and expected.count(None) == 2
    assert json.loads(node({"action": "read", "reader": "tally", "files": variants})) == expected
