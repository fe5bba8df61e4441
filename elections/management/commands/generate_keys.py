"""Generate an election's key pair; write the private key to a new file only the caller reads."""

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import crypto, services

from ._common import ask_passphrase, get_election, read_passphrase_file


class Command(BaseCommand):
    help = (
        "Generate the key pair of a draft election. The public key is stored; the private "
        "key goes only to --out (a new file, mode 0600). Keep that file safe and offline: "
        "it is needed to decrypt the result and nobody else has a copy."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")
        parser.add_argument("--out", required=True, metavar="PATH", help="New private key file.")
        parser.add_argument("--bits", type=int, default=crypto.DEFAULT_KEY_BITS)
        parser.add_argument(
            "--encrypt", action="store_true", help="Protect the key file with a passphrase."
        )
        parser.add_argument(
            "--passphrase-file",
            metavar="FILE",
            help="Read the passphrase from FILE instead of asking (implies --encrypt).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        if not election.is_draft:
            raise CommandError("Keys can only be generated while the election is a draft.")
        passphrase = None
        if options["passphrase_file"]:
            passphrase = read_passphrase_file(options["passphrase_file"])
        elif options["encrypt"]:
            passphrase = ask_passphrase(confirm=True)
        path = options["out"]
        try:
            # O_EXCL: never overwrite, even a file created a moment ago by someone else.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CommandError(f"{path} already exists; it was not overwritten.") from None
        except OSError as error:
            raise CommandError(f"Cannot create {path}: {error.strerror}.") from None
        with os.fdopen(descriptor, "wb") as handle:
            try:
                key_file = services.generate_keys(
                    election=election, actor=None, bits=options["bits"], passphrase=passphrase
                )
            except services.ElectionError as error:
                os.unlink(path)
                raise CommandError(str(error)) from None
            handle.write(key_file)
        public_key = crypto.public_key_from_json(election.public_key)
        self.stdout.write(
            f"Generated a {public_key.n.bit_length()}-bit key for {election.slug!r}.\n"
            f"Public key fingerprint: {services.public_key_fingerprint(election)}\n"
            f"Private key written to {path}"
            f"{' (encrypted with your passphrase)' if passphrase else ''}, mode 0600.\n"
            "Keep it offline: it is the only copy and it is needed to decrypt the result."
        )
