"""The optional last section of a v2 record: the ballots voters audited instead of casting.

Each entry is an audited-ballot document (docs/ballot-format.md, "Audited
ballot"). The check is ``crypto.check_audited_ballot``: every ciphertext
re-encrypts from the revealed choice and randomness, the tracker is the
ballot's, the revealed choices obey the rules. An audited ballot must not be
on the cast board (its choices are public, so counting it would count a
revealed vote) and appears once. The report lists each one with its revealed
choices in words, which are never counted.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Any

from elections import crypto

from .report import AuditedSummary, Report


def check_audited_ballots(
    report: Report,
    params: crypto.ElectionParams,
    entries: Iterable[tuple[Any, str | None]],
    cast_trackers: Container[str],
) -> None:
    """Check every audited ballot; failures are ``audited`` failures naming its position."""
    seen: set[str] = set()
    for position, (document, duplicate_key) in enumerate(entries, start=1):
        if duplicate_key is not None:
            report.fail("audited", f"audited ballot {position}: duplicate key {duplicate_key!r}")
            continue
        try:
            audited = crypto.check_audited_ballot(params, document)
        except (crypto.CryptoError, ValueError, TypeError, RecursionError) as error:
            report.fail("audited", f"audited ballot {position}: {error}")
            continue
        tracker = audited.tracker
        if tracker in cast_trackers:
            report.fail(
                "audited",
                f"audited ballot {position} (tracker {tracker}) is also on the cast board: "
                "its choices are public and it must not be counted",
            )
        if tracker in seen:
            report.fail("audited", f"audited ballot {position} (tracker {tracker}) appears twice")
        seen.add(tracker)
        report.audited.append(AuditedSummary(position, tracker, audited.answers_in_words()))
