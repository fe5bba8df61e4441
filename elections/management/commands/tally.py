"""Decrypt a closed election's tally and publish it, with the private key or the trustees'."""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import services
from elections.models import Election
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
        "Decrypt a closed election's totals and publish them: with its private key file "
        "(--key), or, for an election whose key the trustees made, by combining the partial "
        "decryptions they submitted. Decrypting a published election again checks it gives "
        "the same result."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")
        parser.add_argument(
            "--key",
            metavar="PATH",
            help="The private key file (not for an election whose key the trustees made).",
        )
        add_passphrase_arguments(parser, prompt_flag="--ask-passphrase")
        parser.add_argument(
            "--quiet", action="store_true", help="No progress output while the board is verified."
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="Write the results as one JSON object to stdout instead of a table.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        progress = None if options["quiet"] else ProgressPrinter(sys.stderr)
        if options["key"] is None:
            report = self.publish_with_trustees(election, options, progress)
        else:
            report = self.decrypt_with_key(election, options, progress)
        if options["json"]:
            self.stdout.write(json.dumps(report_document(election.slug, report), indent=2))
        else:
            self.stdout.write(format_report(election.title, report))

    def publish_with_trustees(
        self, election: Election, options: dict[str, Any], progress: ProgressPrinter | None
    ) -> services.TallyReport:
        if not election.has_trustees:
            raise CommandError(
                "This election has a single private key: give its key file with --key."
            )
        if options["passphrase_file"] or options["ask_passphrase"]:
            raise CommandError("A passphrase is only for a key file (--key).")
        try:
            return services.publish_with_trustees(election=election, actor=None, progress=progress)
        except services.ElectionError as error:
            raise CommandError(str(error)) from None

    def decrypt_with_key(
        self, election: Election, options: dict[str, Any], progress: ProgressPrinter | None
    ) -> services.TallyReport:
        if options["passphrase_file"] and options["ask_passphrase"]:
            raise CommandError("Use either --passphrase-file or --ask-passphrase, not both.")
        key_file = read_key_file(options["key"])
        passphrase = None
        if options["passphrase_file"]:
            passphrase = read_passphrase_file(options["passphrase_file"])
        elif options["ask_passphrase"]:
            passphrase = ask_passphrase(confirm=False)
        try:
            return services.decrypt_tally(
                election=election,
                key_file=key_file,
                passphrase=passphrase,
                actor=None,
                progress=progress,
            )
        except services.ElectionError as error:
            raise CommandError(str(error)) from None


def report_document(slug: str, report: services.TallyReport) -> dict[str, Any]:
    """The results as data: per question its options' counts and its blank count (or null)."""
    return {
        "election": slug,
        "ballots": report.ballots,
        "questions": [
            {
                "title": question.title,
                "blank": None if blank is None else blank.count,
                "options": [
                    {"name": item.candidate.name, "count": item.count}
                    for item in options
                    if item.candidate is not None
                ],
            }
            for question, options, blank in report.by_question()
        ],
    }


def format_report(title: str, report: services.TallyReport) -> str:
    grouped = report.by_question()
    names = [item.candidate.name for item in report.counts if item.candidate is not None]
    width = max([len(name) for name in names] + [len("Blank votes"), len("Option")])
    lines = [title]
    for number, (question, options, blank) in enumerate(grouped, start=1):
        heading = f"{number}. {question.title}" if len(grouped) > 1 else question.title
        lines += ["", heading, f"{'Option':<{width}}  {'Votes':>8}  {'Share':>7}"]
        rows = [(item.candidate.name, item.count) for item in options if item.candidate is not None]
        if blank is not None:
            rows.append(("Blank votes", blank.count))
        for name, count in rows:
            share = 100 * count / report.ballots if report.ballots else 0.0
            lines.append(f"{name:<{width}}  {count:>8}  {share:>6.1f}%")
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
