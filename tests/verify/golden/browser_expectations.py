"""What the reference verifier says about every golden record and its tamperings.

The browser verifier (``elections/static/elections/js/record-verify.mjs``)
must give the same verdict, exit status, failures (check, ballot, message),
hashes, results and trustees as ``python -m elections.verify --json`` on the
same bytes. This module runs the command line in-process on every case of
``browser_cases``, ``browser_cases_v2`` and ``browser_cases_v3`` (each golden
record as it is, and every kind of tampering the verifier's tests make, as
bytes) and writes ``browser-expectations.json``:
per case, the golden file it starts from, the edits that turn it into the
tampered bytes (so the fixture stays small), the options and the JSON
report (without its ``seconds``). ``tests/js/record-verify.test.mjs`` replays
them; ``tests/verify/test_browser_expectations.py`` checks the file is up to
date. It also holds audited ballots (``crypto.check_audited_ballot``'s
verdicts) for the browser's ``checkAuditedBallot``. Regenerate after a
change to the verifier or the golden records with::

    .venv/bin/python -m tests.verify.golden.browser_expectations
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import io
import json
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from elections import crypto
from elections.crypto.keys import allow_small_keys_for_tests
from elections.verify import main

from .browser_cases import (
    AUDITED_SELECTIONS,
    DOCUMENTS,
    GOLDEN_FILES,
    UNREADABLE_CASES,
    V1_CASES,
    V2,
    Case,
    golden_bytes,
    render,
)
from .browser_cases_v2 import (
    AUDITED_CASES,
    AUDITED_CHANGES,
    TRUSTEE_CASES,
    V2_CASES,
    audited_documents,
)
from .browser_cases_v3 import V3_CASES
from .regenerate import golden_keypair, golden_v2_params

CASES = V1_CASES + UNREADABLE_CASES + V2_CASES + TRUSTEE_CASES + AUDITED_CASES + V3_CASES
EXPECTATIONS_PATH = Path(__file__).with_name("browser-expectations.json")
SAFE_INTEGER = 2**53 - 1


# --- Running the reference verifier ----------------------------------------------------------


def _safe(value: Any) -> Any:
    """Integers beyond 2^53 as decimal strings, as the browser's report writes them."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > SAFE_INTEGER:
        return str(value)
    if isinstance(value, list):
        return [_safe(item) for item in value]
    if isinstance(value, dict):
        return {key: _safe(item) for key, item in value.items()}
    return value


@contextlib.contextmanager
def _key_floor(small: bool) -> Iterator[None]:
    if small:
        with allow_small_keys_for_tests():
            yield
    else:
        yield


def cli_report(data: bytes, *, tracker: str | None, small_keys: bool) -> dict[str, Any]:
    """``python -m elections.verify RECORD --json`` in-process, without its ``seconds``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "record.json"
        path.write_bytes(data)
        argv = [str(path), "--json", "--quiet", "--workers", "1"]
        if tracker is not None:
            argv += ["--tracker", tracker]
        out = io.StringIO()
        with _key_floor(small_keys), contextlib.redirect_stdout(out):
            code = main(argv)
    report = json.loads(out.getvalue())
    assert report["exit_code"] == code
    del report["seconds"]
    return _safe(report)


def edits(base: str, old: bytes, new: bytes) -> list[list[Any]]:
    """The edits turning ``old`` (golden file ``base``) into ``new``, line by line.

    Lines are those of the bytes read as Latin-1 text, so that any byte fits.
    Each edit is ``[start, end, lines]``: the old lines ``start`` to ``end``
    (exclusive) become ``lines``. A new line is a text, or
    ``{"line": [file, index], "pieces": [...]}``: line ``index`` of golden
    file ``file`` rebuilt from its slices ``[start, end]`` and texts between
    them. A text is a string, or a list of strings and ``[character, count]``
    runs.
    """
    before = old.decode("latin-1").split("\n")
    after = new.decode("latin-1").split("\n")
    sources = [(base, before)] + [
        (name, golden_bytes(name).decode("latin-1").split("\n"))
        for name in GOLDEN_FILES
        if name != base
    ]
    sources.append((DOCUMENTS, list(audited_documents())))
    found = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            found.append([i1, i2, [_line_edit(sources, line) for line in after[j1:j2]]])
    return found


def _line_edit(sources: list[tuple[str, list[str]]], new: str) -> Any:
    """The shortest spelling of ``new``: packed, or rebuilt from the closest golden line."""
    best: Any = _pack(new)
    best_size = len(json.dumps(best))
    for name, lines in sources:
        for index, old in enumerate(lines):
            pieces = _rebuild(old, new)
            size = len(json.dumps(pieces)) + len(name) + 24
            if size < best_size:
                best, best_size = {"line": [name, index], "pieces": pieces}, size
    return best


def _rebuild(old: str, new: str) -> list[Any]:
    """``new`` as slices of ``old`` around one changed region; the trailing comma apart."""
    old_body, new_body = old.removesuffix(","), new.removesuffix(",")
    limit = min(len(old_body), len(new_body))
    prefix = 0
    while prefix < limit and old_body[prefix] == new_body[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old_body[-1 - suffix] == new_body[-1 - suffix]:
        suffix += 1
    pieces: list[Any] = []
    if prefix:
        pieces.append([0, prefix])
    if prefix + suffix < len(new_body):
        pieces.append(_pack(new_body[prefix : len(new_body) - suffix]))
    if suffix:
        pieces.append([len(old_body) - suffix, len(old_body)])
    if new.endswith(","):
        pieces.append(",")
    return pieces


_RUN = re.compile(r"(.)\1{63,}", re.DOTALL)


def _pack(text: str) -> Any:
    pieces: list[Any] = []
    position = 0
    for run in _RUN.finditer(text):
        if run.start() > position:
            pieces.append(text[position : run.start()])
        pieces.append([run.group(1), len(run.group())])
        position = run.end()
    if not pieces:
        return text
    if position < len(text):
        pieces.append(text[position:])
    return pieces


def _unpack(text: Any) -> str:
    if isinstance(text, str):
        return text
    return "".join(piece if isinstance(piece, str) else piece[0] * piece[1] for piece in text)


def apply_edits(base: str, changes: list[list[Any]]) -> bytes:
    """``edits``' inverse, as the browser's test applies them."""
    lines = golden_bytes(base).decode("latin-1").split("\n")
    for start, end, replacement in reversed(changes):
        lines[start:end] = [_build_line(line) for line in replacement]
    return "\n".join(lines).encode("latin-1")


def _build_line(line: Any) -> str:
    if not isinstance(line, dict):
        return _unpack(line)
    name, index = line["line"]
    if name == DOCUMENTS:
        source = audited_documents()[index]
    else:
        source = golden_bytes(name).decode("latin-1").split("\n")[index]
    return "".join(
        source[piece[0] : piece[1]]
        if isinstance(piece, list) and piece and isinstance(piece[0], int)
        else _unpack(piece)
        for piece in line["pieces"]
    )


def expect(case: Case) -> dict[str, Any]:
    base = golden_bytes(case.base)
    with allow_small_keys_for_tests():
        data = case.change(base)
    changes = edits(case.base, base, data)
    assert apply_edits(case.base, changes) == data, case.name
    tracker = case.tracker
    return {
        "name": case.name,
        "base": case.base,
        "edits": changes,
        "tracker": tracker,
        "min_key_bits": 512 if case.small_keys else 2048,
        "report": cli_report(data, tracker=tracker, small_keys=case.small_keys),
    }


def audited_expectations() -> dict[str, Any]:
    with allow_small_keys_for_tests():
        params = golden_v2_params(golden_keypair()[0])
        honest = json.loads(audited_documents()[0])
        cases = []
        for name, change in AUDITED_CHANGES:
            document = copy.deepcopy(honest)
            change(params, document)
            try:
                audited = crypto.check_audited_ballot(params, document)
            except crypto.CryptoError as error:
                verdict: dict[str, Any] = {"ok": False, "message": str(error)}
            else:
                verdict = {"ok": True, "chosen_slots": audited.chosen_slots()}
            patch = [[path, value] for path, value in _differences(honest, document)]
            cases.append({"name": name, "patch": patch, **verdict})
    return {
        "base": V2,
        "document": 0,
        "selections": list(AUDITED_SELECTIONS),
        "cases": cases,
    }


def _differences(old: Any, new: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[list[Any], Any]]:
    """Set operations (path, value) turning ``old`` into ``new``; a list of another length whole."""
    if isinstance(old, dict) and isinstance(new, dict) and set(old) <= set(new):
        for key, value in new.items():
            if key not in old or old[key] != value:
                yield from _differences(old.get(key), value, (*path, key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            if before != after:
                yield from _differences(before, after, (*path, index))
    else:
        yield list(path), new


def build_expectations() -> dict[str, Any]:
    """Every case's expectation and the audited ballots, as written to the fixture."""
    for name in GOLDEN_FILES:
        assert render(json.loads(golden_bytes(name))) == golden_bytes(name), name
    return {
        "format": "evoting/browser-verifier-expectations/v1",
        "regenerate": "python -m tests.verify.golden.browser_expectations",
        "documents": list(audited_documents()),
        "cases": [expect(case) for case in CASES],
        "audited": audited_expectations(),
    }


def dumps(expectations: dict[str, Any]) -> str:
    """The fixture's text: one case a line, so that a change shows as the cases it touches."""

    def compact(value: Any) -> str:
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"))

    head = {
        key: value
        for key, value in expectations.items()
        if key not in ("documents", "cases", "audited")
    }
    lines = [compact(head)[:-1] + ',"documents":[']
    lines.append(",\n".join(compact(document) for document in expectations["documents"]))
    lines.append('],"cases":[')
    lines.append(",\n".join(compact(case) for case in expectations["cases"]))
    lines.append('],"audited":' + compact(expectations["audited"]) + "}")
    return "\n".join(lines) + "\n"


def main_command() -> int:
    text = dumps(build_expectations())
    EXPECTATIONS_PATH.write_text(text, encoding="ascii")
    sys.stdout.write(f"Wrote {EXPECTATIONS_PATH} ({len(text):,} bytes).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main_command())
