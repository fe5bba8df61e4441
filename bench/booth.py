"""Benchmark the voting booth as a voter meets it, in Debian's chromium against the real site.

Run: .venv/bin/python -m bench.booth [--bits 3072] [--runs 5]

Starts the site under gunicorn on 127.0.0.1 with a temporary SQLite database and
an open election of two questions (one of four candidates; yes, no or a blank
vote), then, for each run, a fresh browser context signs a new voter in and
times, on the page's own flow (choose, review, encrypt, tracker, then audit or
cast):

- page open to ready: from the booth's navigation to "Encryption ready" (the
  Web Worker's precomputation of every exponentiation that does not depend on
  the choice);
- audit to ready again: from "Reveal and audit this ballot" to "Encryption
  ready" again (reveal, publish, and a fresh precomputation);
- click on cast to receipt: from "Cast this encrypted ballot" to the receipt page
  loaded (the cast, the server's checks and store, and the booth's comparison of
  its tracker with the server's answer and the board).

Medians, minima and maxima in seconds; the one x^n mod n^2 of the server
process (gmpy2) measured in the same run is the baseline, as the machines are
shared and noisy. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import gmpy2  # type: ignore[import-untyped]
from playwright.sync_api import Page, expect, sync_playwright

from bench.browser_crypto import CHROMIUM_ARGS
from tests.elections.livesite import gunicorn_site, migrate, set_up_election, site_env

QUESTIONS = [
    {
        "title": "Chair",
        "options": ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra"],
        "min_selections": 1,
        "max_selections": 1,
        "allow_blank": False,
    },
    {
        "title": "Adopt the budget?",
        "options": ["Yes", "No"],
        "min_selections": 1,
        "max_selections": 1,
        "allow_blank": True,
    },
]
READY = re.compile("^Encryption ready")
TIMEOUT_MS = 600_000


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def x_to_the_n_ms(bits: int) -> float:
    n = gmpy2.mpz(secrets.randbits(bits) | (1 << (bits - 1)) | 1)
    n_square = n * n
    x = gmpy2.mpz(secrets.randbelow(int(n_square)))
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        gmpy2.powmod(x, n, n_square)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def choose_and_encrypt(page: Page) -> None:
    page.get_by_label("Grace Hopper", exact=True).check()
    page.get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Review my choices").click()
    page.get_by_role("button", name="Encrypt my ballot").click()
    expect(page.locator("#booth-tracker")).to_have_text(
        re.compile("^[0-9a-f]{64}$"), timeout=TIMEOUT_MS
    )


def one_voter(page: Page, base: str, slug: str, username: str, password: str) -> list[float]:
    booth = f"/elections/{slug}/booth/"
    page.goto(f"{base}/accounts/login/?next={booth}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    started = time.perf_counter()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}{booth}")
    expect(page.locator("#crypto-status")).to_have_text(READY, timeout=TIMEOUT_MS)
    open_to_ready = time.perf_counter() - started

    choose_and_encrypt(page)
    page.get_by_role(
        "button", name="Audit this ballot instead (reveals it; you then vote again)"
    ).click()
    started = time.perf_counter()
    page.get_by_role("button", name="Reveal and audit this ballot").click()
    expect(page.get_by_role("heading", name="Your ballot was audited, not cast")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(page.locator("#crypto-status")).to_have_text(READY, timeout=TIMEOUT_MS)
    audit_to_ready = time.perf_counter() - started

    choose_and_encrypt(page)
    started = time.perf_counter()
    page.get_by_role("button", name="Cast this encrypted ballot").click()
    page.wait_for_url(f"{base}/elections/{slug}/receipt/", timeout=TIMEOUT_MS)
    cast_to_receipt = time.perf_counter() - started
    return [open_to_ready, audit_to_ready, cast_to_receipt]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=3072)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    password = secrets.token_urlsafe(18)
    voters = [f"booth_voter_{index}" for index in range(args.runs)]
    with tempfile.TemporaryDirectory(prefix="bench-booth-") as folder:
        root = Path(folder)
        env = site_env(root / "site.sqlite3")
        migrate(env)
        say(f"setting up an election with a {args.bits}-bit key")
        election = set_up_election(
            env,
            slug="bench-booth",
            questions=QUESTIONS,
            voters=voters,
            session_voters=[],
            password=password,
            bits=args.bits,
            key_path=root / "key.json",
            public_key_path=root / "public.json",
        )
        timings: list[list[float]] = []
        with gunicorn_site(env, workers=1, threads=8) as site, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            try:
                for number, username in enumerate(voters, start=1):
                    context = browser.new_context()
                    page = context.new_page()
                    timings.append(
                        one_voter(page, site.base_url, election.slug, username, password)
                    )
                    context.close()
                    say(
                        f"voter {number}/{args.runs}: "
                        + ", ".join(f"{t:.2f}s" for t in timings[-1])
                    )
            finally:
                browser.close()
    baseline = x_to_the_n_ms(args.bits)
    print(
        f"## The booth in chromium: {args.bits}-bit key, 2 questions (7 slots), "
        f"{args.runs} voters\n"
    )
    print("| step | median s | min s | max s | median in x^n |")
    print("|---|---|---|---|---|")
    names = ("page open to ready", "audit to ready again", "click on cast to receipt")
    for index, name in enumerate(names):
        values = [run[index] for run in timings]
        median = statistics.median(values)
        print(
            f"| {name} | {median:.2f} | {min(values):.2f} | {max(values):.2f} | "
            f"{median * 1000 / baseline:.0f} |"
        )
    print(f"\nx^n mod n^2 on the server (gmpy2): {baseline:.1f} ms (median of 5).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
