"""Shared by the election commands: finding an election, reading secrets from files or prompts."""

import getpass
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from elections.models import Election

# A key file is a few kilobytes; anything much larger is not one.
MAX_KEY_FILE_BYTES = 256 * 1024
MAX_PASSPHRASE_FILE_BYTES = 4096


def get_election(slug: str) -> Election:
    try:
        return Election.objects.get(slug=slug)
    except Election.DoesNotExist:
        raise CommandError(f"No election has the identifier {slug!r}.") from None


def add_passphrase_arguments(parser: CommandParser, *, prompt_flag: str) -> None:
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help="Read the key file's passphrase from the first line of FILE.",
    )
    parser.add_argument(
        prompt_flag,
        action="store_true",
        help="Ask for the key file's passphrase (it is never taken from the command line).",
    )


def read_passphrase_file(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PASSPHRASE_FILE_BYTES + 1)
    except OSError as error:
        raise CommandError(f"Cannot read the passphrase file: {error.strerror}.") from None
    if len(data) > MAX_PASSPHRASE_FILE_BYTES:
        raise CommandError("The passphrase file is too large to be a passphrase file.")
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise CommandError("The passphrase file is not UTF-8 text.") from None
    if not lines or not lines[0]:
        raise CommandError("The passphrase file is empty.")
    return lines[0]


def ask_passphrase(*, confirm: bool) -> str:
    try:
        with warnings.catch_warnings():
            # Without a terminal getpass would read stdin with echo on: refuse instead.
            warnings.simplefilter("error", getpass.GetPassWarning)
            passphrase = getpass.getpass("Passphrase: ")
            again = getpass.getpass("Passphrase (again): ") if confirm else passphrase
    except getpass.GetPassWarning:
        raise CommandError(
            "There is no terminal to ask for the passphrase: use --passphrase-file."
        ) from None
    except (EOFError, KeyboardInterrupt):
        raise CommandError("No passphrase was given.") from None
    if not passphrase:
        raise CommandError("The passphrase cannot be empty.")
    if again != passphrase:
        raise CommandError("The two passphrases differ.")
    return passphrase


def read_key_file(path: str) -> bytes:
    return read_file(path, MAX_KEY_FILE_BYTES, "key file")


def read_file(path: str, max_bytes: int, what: str) -> bytes:
    """Read at most ``max_bytes`` of ``path``; a larger file is refused, not truncated."""
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise CommandError(f"Cannot read the {what} {path}: {error.strerror}.") from None
    if len(data) > max_bytes:
        raise CommandError(f"The {what} is too large to be a {what}.")
    return data


def write_atomically(path: Path, chunks: Any) -> int:
    """Write the chunks to a temporary file beside ``path``, then rename it into place.

    A failure half-way leaves no truncated file under the final name.
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=directory, prefix=f".{path.name}.", suffix=".part"
        )
    except OSError as error:
        raise CommandError(f"Cannot write in {directory}: {error.strerror}.") from None
    written = 0
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            for chunk in chunks:
                written += handle.write(chunk)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        os.unlink(temporary)
        raise CommandError(f"Cannot write {path}: {error.strerror}.") from None
    except BaseException:
        os.unlink(temporary)
        raise
    return written
