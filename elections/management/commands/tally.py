"""Decrypt a closed election's tally with the private key file, and publish the result."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import services
from elections.verify import ProgressPrinter

from ._common import (
    add_passphrase_arguments,
    ask_passphrase,
    get_election,
    read_key_file,
    read_passphrase_file,
)


class Command(BaseCommand):
    help = (
        "Decrypt a closed election's totals with its private key file and publish them. "
        "Decrypting a published election again checks it gives the same result."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")
        parser.add_argument("--key", required=True, metavar="PATH", help="The private key file.")
        add_passphrase_arguments(parser, prompt_flag="--ask-passphrase")
        parser.add_argument(
            "--quiet", action="store_true", help="No progress output while the board is verified."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        if options["passphrase_file"] and options["ask_passphrase"]:
            raise CommandError("Use either --passphrase-file or --ask-passphrase, not both.")
        key_file = read_key_file(options["key"])
        passphrase = None
        if options["passphrase_file"]:
            passphrase = read_passphrase_file(options["passphrase_file"])
        elif options["ask_passphrase"]:
            passphrase = ask_passphrase(confirm=False)
        try:
            report = services.decrypt_tally(
                election=election,
                key_file=key_file,
                passphrase=passphrase,
                actor=None,
                progress=None if options["quiet"] else ProgressPrinter(sys.stderr),
            )
        except services.ElectionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(format_report(election.title, report))


def format_report(title: str, report: services.TallyReport) -> str:
    width = max([len(c.candidate.name) for c in report.counts] + [len("Candidate")])
    lines = [title, "", f"{'Candidate':<{width}}  {'Votes':>8}  {'Share':>7}"]
    for entry in report.counts:
        share = 100 * entry.count / report.ballots if report.ballots else 0.0
        lines.append(f"{entry.candidate.name:<{width}}  {entry.count:>8}  {share:>6.1f}%")
    lines += [
        "",
        f"Ballots: {report.ballots} (shares are of ballots cast)",
        "Board verified before decryption (proofs, trackers, chain, tally as their product): "
        + ("yes" if report.running_tally_matches else "NO"),
        "Already published; this decryption gives the same result."
        if report.already_published
        else "The result is published.",
    ]
    return "\n".join(lines)
