"""The trustees' command line: ``python -m elections.trustee ceremony | decrypt | verify``.

- ``ceremony``: deal a K-of-N key, write ``public.json`` and one sealed
  ``trustee-<i>.json`` per trustee, never overwriting a file.
- ``decrypt``: one trustee's partial decryption of an election's encrypted
  totals, with proofs, after checking the share against the public key and
  the totals against both.
- ``verify``: check partial decryption files and, with K of them, print the
  counts.

Exit status 0 on success, 2 with a one-line message on stderr for any
refusal; progress goes to stderr, results to stdout. Passphrases come from a
prompt or a file, never from the command line (where other users of the
machine and the shell history would see them).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from elections.crypto.encoding import check_text
from elections.crypto.errors import CryptoError, ParameterError
from elections.crypto.keys import DEFAULT_KEY_BITS, MAX_KEY_BITS, minimum_key_bits
from elections.crypto.params import MAX_ID_LENGTH, ElectionParams
from elections.crypto.tally import impossible_counts
from elections.crypto.threshold import MAX_TRUSTEES, deal

from .decryption import combine_tally, missing_trustees_message, partially_decrypt_tally
from .files import (
    MAX_PARTIAL_BYTES,
    MAX_PUBLIC_BYTES,
    MAX_SHARE_BYTES,
    MAX_TALLY_BYTES,
    EncryptedTally,
    PartialDecryptionFile,
    TrusteeFileError,
    TrusteePublicKey,
    check_partial_file,
    check_tally_key,
    dump_partial,
    dump_public_key,
    dump_share,
    load_public_key,
    load_share,
    load_tally,
    make_public_key,
    share_is_sealed,
)

PROG = "python -m elections.trustee"
EXIT_OK = 0
EXIT_REFUSED = 2
MIN_PASSPHRASE_LENGTH = 12
MAX_PASSPHRASE_FILE_BYTES = 4096
PROMPT_ATTEMPTS = 3
UNSEALED_WARNING = (
    "WARNING: --unsealed-demo-shares writes every trustee's share IN CLEAR. Anyone who "
    "reads {threshold} of these files can decrypt every ballot of this election. "
    "For demonstrations only: never for a real election."
)


class Refusal(Exception):
    """A refusal of the command line: exit status 2 with this one-line message."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments:"):
            # Whoever types a passphrase as an argument should not see it echoed.
            words = message.split(":", 1)[1].split()
            message = "unrecognized options " + " ".join(w for w in words if w.startswith("-"))
        raise Refusal(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser. No option carries a passphrase: they come from prompts or files."""
    parser = _Parser(
        prog=PROG,
        allow_abbrev=False,
        description="The trustees' tool: key ceremony, partial decryption, verification "
        "(docs/trustees.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ceremony = commands.add_parser(
        "ceremony", allow_abbrev=False, help="deal a K-of-N key to the trustees"
    )
    ceremony.add_argument("--election", required=True, help="the election's identifier")
    ceremony.add_argument("--trustees", type=int, required=True, help="N, the number of trustees")
    ceremony.add_argument(
        "--threshold", type=int, required=True, help="K, how many trustees decrypt together"
    )
    ceremony.add_argument("--out", required=True, type=Path, help="directory for the files")
    ceremony.add_argument(
        "--bits", type=int, default=DEFAULT_KEY_BITS, help="modulus size (default 3072)"
    )
    sealing = ceremony.add_mutually_exclusive_group()
    sealing.add_argument(
        "--passphrase-files",
        type=Path,
        metavar="DIR",
        help="read trustee i's passphrase from DIR/trustee-<i>.txt (first line) "
        "instead of prompting",
    )
    sealing.add_argument(
        "--unsealed-demo-shares",
        action="store_true",
        help="write the shares without a passphrase (demonstrations only)",
    )
    ceremony.set_defaults(run=run_ceremony)

    decrypt = commands.add_parser(
        "decrypt", allow_abbrev=False, help="one trustee's partial decryption"
    )
    decrypt.add_argument("--share", required=True, type=Path, help="your trustee-<i>.json")
    decrypt.add_argument("--public", required=True, type=Path, help="the public.json")
    decrypt.add_argument("--tally", required=True, type=Path, help="the tally.json")
    decrypt.add_argument("--out", required=True, type=Path, help="the partial-<i>.json to write")
    decrypt.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help="read the passphrase from FILE (first line) instead of prompting",
    )
    decrypt.set_defaults(run=run_decrypt)

    verify = commands.add_parser(
        "verify", allow_abbrev=False, help="check partial decryptions and count"
    )
    verify.add_argument("--public", required=True, type=Path, help="the public.json")
    verify.add_argument("--tally", required=True, type=Path, help="the tally.json")
    verify.add_argument("partials", nargs="*", type=Path, help="partial-<i>.json files")
    verify.set_defaults(run=run_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status (0, or 2 after a one-line message on stderr)."""
    try:
        options = build_parser().parse_args(argv)
        run: Callable[[argparse.Namespace], int] = options.run
        return run(options)
    except SystemExit as exit_:  # --help
        return exit_.code if isinstance(exit_.code, int) else EXIT_OK
    except (Refusal, CryptoError) as exc:
        message = str(exc)
    except FileExistsError as exc:
        message = f"{exc.filename} already exists: refusing to overwrite it"
    except OSError as exc:
        message = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)
    except EOFError:
        message = "no passphrase was entered"
    except KeyboardInterrupt:
        message = "interrupted"
    one_line = " ".join(message.split())
    sys.stderr.write(f"{PROG}: refused: {one_line}\n")
    return EXIT_REFUSED


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _read(path: Path, max_bytes: int) -> bytes:
    with path.open("rb") as source:
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Refusal(f"{path}: larger than {max_bytes} bytes, not a file of this tool")
    return data


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet (O_EXCL), with ``mode`` permissions."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as target:
        target.write(data)


def _refuse_existing(paths: Sequence[Path]) -> None:
    existing = [str(path) for path in paths if path.exists()]
    if existing:
        raise Refusal(f"{', '.join(existing)} already exist(s): refusing to overwrite")


# Passphrases ----------------------------------------------------------------------------


def read_passphrase_file(path: Path) -> str:
    """The first line of a UTF-8 file, without its line ending; refuses an empty one."""
    data = _read(path, MAX_PASSPHRASE_FILE_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(f"{path}: not UTF-8 text") from None
    lines = text.splitlines()
    passphrase = lines[0] if lines else ""
    if not passphrase:
        raise Refusal(f"{path}: the first line (the passphrase) is empty")
    return passphrase


def _check_new_passphrase(passphrase: str, whose: str) -> str:
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise Refusal(f"{whose}: a passphrase needs at least {MIN_PASSPHRASE_LENGTH} characters")
    return passphrase


def _prompt_new_passphrase(index: int, trustees: int) -> str:
    whose = f"trustee {index} of {trustees}"
    for _ in range(PROMPT_ATTEMPTS):
        first = getpass.getpass(
            f"Passphrase for {whose} (at least {MIN_PASSPHRASE_LENGTH} chars): "
        )
        if len(first) < MIN_PASSPHRASE_LENGTH:
            _say(f"too short: at least {MIN_PASSPHRASE_LENGTH} characters")
            continue
        if getpass.getpass(f"The same passphrase again, {whose}: ") == first:
            return first
        _say("the two entries differ")
    raise Refusal(f"{whose}: no passphrase after {PROMPT_ATTEMPTS} attempts")


def _new_passphrases(options: argparse.Namespace) -> list[str | None]:
    trustees: int = options.trustees
    if options.unsealed_demo_shares:
        return [None] * trustees
    if options.passphrase_files is not None:
        folder: Path = options.passphrase_files
        return [
            _check_new_passphrase(
                read_passphrase_file(folder / f"trustee-{index}.txt"), f"trustee {index}"
            )
            for index in range(1, trustees + 1)
        ]
    return [_prompt_new_passphrase(index, trustees) for index in range(1, trustees + 1)]


# ceremony -------------------------------------------------------------------------------


def _check_ceremony_options(options: argparse.Namespace) -> None:
    check_text(options.election, field="election id", max_len=MAX_ID_LENGTH, error=ParameterError)
    if not 1 <= options.threshold <= options.trustees <= MAX_TRUSTEES:
        raise Refusal(
            f"need 1 <= --threshold <= --trustees <= {MAX_TRUSTEES}, "
            f"got {options.threshold} of {options.trustees}"
        )
    bits = options.bits
    if bits % 2 or not minimum_key_bits() <= bits <= MAX_KEY_BITS:
        raise Refusal(f"--bits must be even, from {minimum_key_bits()} to {MAX_KEY_BITS}")


def run_ceremony(options: argparse.Namespace) -> int:
    """Deal the key, seal and write every share and the public key; print the fingerprint."""
    _check_ceremony_options(options)
    out: Path = options.out
    trustees, threshold = options.trustees, options.threshold
    share_paths = [out / f"trustee-{index}.json" for index in range(1, trustees + 1)]
    public_path = out / "public.json"
    _refuse_existing([public_path, *share_paths])
    unsealed = options.unsealed_demo_shares
    if unsealed:
        _say(UNSEALED_WARNING.format(threshold=threshold))
    passphrases = _new_passphrases(options)
    out.mkdir(mode=0o700, parents=True, exist_ok=True)

    started = time.perf_counter()
    steps: dict[str, float] = {}

    def on_step(step: str) -> None:
        steps.setdefault(step, time.perf_counter())
        _say(f"dealing: {step}")

    key, shares = deal(options.bits, threshold, trustees, progress=on_step)
    prime_seconds = steps["shares and verification keys"] - steps["first safe prime"]
    public = make_public_key(options.election, key)
    for share, passphrase, path in zip(shares, passphrases, share_paths, strict=True):
        _say(f"{'writing' if unsealed else 'sealing'} the share of trustee {share.index}")
        _write_new(path, dump_share(public, share, passphrase=passphrase), 0o600)
    _write_new(public_path, dump_public_key(public), 0o644)
    total = time.perf_counter() - started

    print(f"election {options.election}: {threshold} of {trustees} trustees decrypt together")
    print(f"modulus: {key.n.bit_length()} bits")
    print(f"wrote {public_path} and {share_paths[0].name} to {share_paths[-1].name} in {out}")
    print(f"public key fingerprint: {public.fingerprint}")
    print(f"time: {total:.1f} s in all, {prime_seconds:.1f} s of it finding safe primes")
    if unsealed:
        _say(UNSEALED_WARNING.format(threshold=threshold))
    else:
        _say(
            "give each trustee their own trustee-<i>.json; the dealer keeps nothing: "
            "delete every share from this machine once handed over"
        )
    return EXIT_OK


# decrypt --------------------------------------------------------------------------------


def _load_public_and_tally(options: argparse.Namespace) -> tuple[TrusteePublicKey, EncryptedTally]:
    try:
        public = load_public_key(_read(options.public, MAX_PUBLIC_BYTES))
    except TrusteeFileError as exc:
        raise Refusal(f"{options.public}: {exc}") from None
    try:
        tally = load_tally(_read(options.tally, MAX_TALLY_BYTES))
    except TrusteeFileError as exc:
        raise Refusal(f"{options.tally}: {exc}") from None
    check_tally_key(public, tally)
    return public, tally


def run_decrypt(options: argparse.Namespace) -> int:
    """Check the share and the totals, then write this trustee's partial decryption."""
    public, tally = _load_public_and_tally(options)
    _refuse_existing([options.out])
    share_data = _read(options.share, MAX_SHARE_BYTES)
    try:
        passphrase = None
        if options.passphrase_file is not None:
            passphrase = read_passphrase_file(options.passphrase_file)
        elif share_is_sealed(share_data):
            passphrase = getpass.getpass(f"Passphrase for {options.share}: ")
        share = load_share(share_data, public=public, passphrase=passphrase)
    except TrusteeFileError as exc:
        raise Refusal(f"{options.share}: {exc}") from None
    _say(
        f"trustee {share.index} of {public.key.trustees}, election {tally.election_id}: "
        f"{tally.ballot_count} ballots, closing hash {tally.closing_hash}"
    )
    _say("compare the closing hash with the one the site announced before sending the result")

    def on_slot(done: int, total: int) -> None:
        _say(f"partial decryption: {done} / {total} totals")

    partial_file = partially_decrypt_tally(public, share, tally, progress=on_slot)
    _write_new(options.out, dump_partial(partial_file), 0o644)
    print(
        f"wrote {options.out}: trustee {share.index}'s partial decryption of the "
        f"{len(partial_file.partials)} totals of election {tally.election_id}"
    )
    return EXIT_OK


# verify ---------------------------------------------------------------------------------


def _slot_lines(params: ElectionParams, counts: Sequence[int]) -> list[str]:
    if params.version == 1:
        return [
            f"{option}: {count}" for option, count in zip(params.option_ids, counts, strict=True)
        ]
    lines = []
    for number, (question, start) in enumerate(
        zip(params.questions, params.offsets, strict=True), start=1
    ):
        head = f"question {number} ({question.title})"
        for offset, option in enumerate(question.options):
            lines.append(f"{head}, {option.id} ({option.name}): {counts[start + offset]}")
        if question.blank:
            lines.append(f"{head}, blank: {counts[start + len(question.options)]}")
    return lines


def run_verify(options: argparse.Namespace) -> int:
    """Check every partial decryption file; with K valid ones, print the counts."""
    public, tally = _load_public_and_tally(options)
    checked: dict[int, tuple[Path, PartialDecryptionFile]] = {}
    for path in options.partials:
        try:
            partial_file = check_partial_file(public, tally, _read(path, MAX_PARTIAL_BYTES))
        except TrusteeFileError as exc:
            raise Refusal(f"{path}: {exc}") from None
        if partial_file.trustee in checked:
            other = checked[partial_file.trustee][0]
            raise Refusal(
                f"{path}: trustee {partial_file.trustee} already sent {other}: "
                "two partial decryptions of one trustee"
            )
        checked[partial_file.trustee] = (path, partial_file)
        _say(f"{path}: trustee {partial_file.trustee}'s proofs hold")
    key = public.key
    if len(checked) < key.threshold:
        raise Refusal(missing_trustees_message(key, set(checked)))
    counts = combine_tally(public, tally, [item[1] for item in checked.values()])
    problems = impossible_counts(tally.params, counts, tally.ballot_count)
    if problems:
        raise Refusal(
            "the totals decrypt to counts no set of valid ballots can produce: "
            + "; ".join(problems)
        )
    used = sorted(checked)[: key.threshold]
    absent = [index for index in range(1, key.trustees + 1) if index not in checked]
    print(f"election {tally.election_id}: {tally.ballot_count} ballots")
    print(f"closing hash: {tally.closing_hash}")
    print(f"public key fingerprint: {public.fingerprint}")
    print(
        f"decrypted with trustees {', '.join(map(str, used))} "
        f"({key.threshold} of {key.trustees} needed); absent: "
        + (", ".join(map(str, absent)) or "none")
    )
    for line in _slot_lines(tally.params, counts):
        print(line)
    return EXIT_OK
