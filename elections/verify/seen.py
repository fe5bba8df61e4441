"""What the verifier remembers of the board: each tracker's first entry, each voter's last.

Finding duplicate trackers and voter contexts needs every one seen so far. Held in
dicts, that is about 0.4 kB per ballot (12.6 MB measured for 30,000): 4 GB for ten
million, so the verifier's memory would grow with the election. ``SeenEntries``
keeps them in a private temporary SQLite database instead (Python's own
``sqlite3``, no server): its pages live in a cache of ``CACHE_KIB`` and spill to a
temporary file, deleted when the connection closes, in SQLite's temporary
directory (``SQLITE_TMPDIR`` or ``TMPDIR``). Memory stays flat whatever the number
of ballots; the disk holds about 170 bytes per ballot (165 measured for 100,000 of
the site's trackers and voter contexts). A lookup and an insert cost microseconds
beside the milliseconds of a ballot's proofs.

Nothing here is written anywhere but that temporary file, and nothing is durable:
the database exists only for one verification run, in one thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

# Enough for the hot upper levels of both indexes at tens of millions of ballots.
CACHE_KIB = 16 * 1024

# position on the board, sequence number, box
TrackerEntry = tuple[int, int, int]
# position, sequence, box, and the sequence of the ballot that entry says replaced it
ContextEntry = tuple[int, int, int, int | None]


class SeenEntries:
    """Trackers and voter contexts seen so far, in a temporary database (one thread)."""

    def __init__(self) -> None:
        # The empty name is SQLite's private temporary database: on disk once it
        # outgrows the cache, removed on close.
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        # One run, then thrown away: no journal, no syncing, one open transaction.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        # Sequence numbers come from the record and may be any size (a forged one too),
        # past SQLite's 64-bit integers: they are kept as decimal text.
        self._db.execute(
            "CREATE TABLE tracker (tracker TEXT PRIMARY KEY, position INTEGER NOT NULL,"
            " sequence TEXT NOT NULL, box INTEGER NOT NULL) WITHOUT ROWID"
        )
        # ``first`` keeps the order in which voters first appeared, for the report.
        self._db.execute(
            "CREATE TABLE context (context TEXT PRIMARY KEY, first INTEGER NOT NULL,"
            " position INTEGER NOT NULL, sequence TEXT NOT NULL, box INTEGER NOT NULL,"
            " replaced_by TEXT) WITHOUT ROWID"
        )
        self._db.execute("BEGIN")

    def first_with_tracker(self, tracker: str, entry: TrackerEntry) -> TrackerEntry:
        """The first entry seen with ``tracker``: ``entry`` itself if there was none."""
        row = self._db.execute(
            "SELECT position, sequence, box FROM tracker WHERE tracker = ?", (tracker,)
        ).fetchone()
        if row is not None:
            return row[0], int(row[1]), row[2]
        position, sequence, box = entry
        self._db.execute(
            "INSERT INTO tracker VALUES (?, ?, ?, ?)", (tracker, position, str(sequence), box)
        )
        return entry

    def __contains__(self, tracker: object) -> bool:
        """Whether an entry with this tracker was seen."""
        if not isinstance(tracker, str):
            return False
        row = self._db.execute("SELECT 1 FROM tracker WHERE tracker = ?", (tracker,)).fetchone()
        return row is not None

    def replace_latest(self, context: str, entry: ContextEntry) -> ContextEntry | None:
        """Record ``entry`` as the voter's latest; return the one it follows, if any."""
        row = self._db.execute(
            "SELECT position, sequence, box, replaced_by FROM context WHERE context = ?",
            (context,),
        ).fetchone()
        stored = _stored(entry)
        if row is None:
            self._db.execute(
                "INSERT INTO context VALUES (?, ?, ?, ?, ?, ?)", (context, entry[0], *stored)
            )
            return None
        self._db.execute(
            "UPDATE context SET position = ?, sequence = ?, box = ?, replaced_by = ?"
            " WHERE context = ?",
            (*stored, context),
        )
        return _read(row)

    def latest_entries(self) -> Iterator[ContextEntry]:
        """Every voter's latest entry, in the order the voters first appeared."""
        for row in self._db.execute(
            "SELECT position, sequence, box, replaced_by FROM context ORDER BY first"
        ):
            yield _read(row)

    def close(self) -> None:
        """Drop the database and its temporary file."""
        self._db.close()


def _stored(entry: ContextEntry) -> tuple[int, str, int, str | None]:
    position, sequence, box, replaced_by = entry
    return position, str(sequence), box, None if replaced_by is None else str(replaced_by)


def _read(row: tuple[int, str, int, str | None]) -> ContextEntry:
    position, sequence, box, replaced_by = row
    return position, int(sequence), box, None if replaced_by is None else int(replaced_by)
