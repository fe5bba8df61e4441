"""Benchmark ballot encryption in Debian's chromium, under a strict CSP.

Run: .venv/bin/python -m bench.browser_crypto [--bits 3072] [--k 5] [--runs 3]

Serves bench/browser_harness.html and the booth scripts from a local HTTP
server on 127.0.0.1 with a Content-Security-Policy that has no
'unsafe-inline' and no 'unsafe-eval', opens the page in headless chromium
(/usr/bin/chromium through Playwright; no browser is downloaded), and
prints the precomputation time, the time from the "click" (the encrypt
message) to the finished ballot, and the total. Each ballot the browser
makes is verified by the Python verifier.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from elections.crypto import (
    ElectionParams,
    OptionParams,
    QuestionParams,
    allow_small_keys_for_tests,
    generate_keypair,
    params_to_json,
    parse_ballot,
    verify_ballot,
)

ROOT = Path(__file__).resolve().parents[1]
JS_DIR = ROOT / "elections" / "static" / "elections" / "js"
BENCH_DIR = ROOT / "bench"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CSP = (
    "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
FILES = {
    "/": (BENCH_DIR / "browser_harness.html", "text/html; charset=utf-8"),
    "/harness.js": (BENCH_DIR / "browser_harness.js", "text/javascript"),
    "/js/ballot-crypto.mjs": (JS_DIR / "ballot-crypto.mjs", "text/javascript"),
    "/js/election-params.mjs": (JS_DIR / "election-params.mjs", "text/javascript"),
    "/js/ballot-worker.js": (JS_DIR / "ballot-worker.js", "text/javascript"),
}


def make_handler(setup: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/params.json":
                body, content_type = setup, "application/json"
            elif self.path in FILES:
                path, content_type = FILES[self.path]
                body = path.read_bytes()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def run(bits: int, k: int, runs: int) -> None:
    print(f"generating a {bits}-bit key", file=sys.stderr, flush=True)
    with allow_small_keys_for_tests():  # lets --bits 1024 run for a smoke test
        public_key, _ = generate_keypair(bits)
        params = ElectionParams(
            election_id="browser-bench",
            public_key=public_key,
            questions=(
                QuestionParams(
                    options=tuple(OptionParams(f"c{i}", f"Candidate {i + 1}") for i in range(k)),
                    title="Benchmark question",
                ),
            ),
            title="Browser benchmark",
        )
    voter_context = "election=browser-bench;voter=1"
    selections = [int(i == k // 2) for i in range(k)]
    setup = json.dumps(
        {
            "params": json.loads(params_to_json(params)),
            "fingerprint": params.fingerprint,
            "voter_context": voter_context,
            "selections": selections,
        }
    ).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(setup))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    results = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for attempt in range(runs):
                print(f"run {attempt + 1}/{runs}", file=sys.stderr, flush=True)
                page = browser.new_page()
                page.goto(url)
                page.wait_for_selector("#result[data-state]", timeout=180_000)
                result = json.loads(page.text_content("#result") or "{}")
                page.close()
                if "error" in result:
                    raise SystemExit(f"browser error: {result['error']}")
                ballot = parse_ballot(params, result["json"])
                verify_ballot(params, voter_context, ballot)
                results.append(result)
            version = browser.version
            browser.close()
    finally:
        server.shutdown()
    report(results, bits, k, version)


def report(results: list[dict[str, Any]], bits: int, k: int, version: str) -> None:
    def median(key: str) -> float:
        return statistics.median(result[key] for result in results)

    first = results[0]
    print(f"chromium {version}, n = {bits} bits, k = {k}, {len(results)} runs (medians)")
    print(f"CSP: {CSP}")
    print(
        f"secure context: {first['secureContext']}, eval blocked: {first['evalBlocked']}, "
        f"CSP violations during the runs: {sum(len(r['violationsDuringRun']) for r in results)}"
    )
    print("| step | ms |")
    print("|---|---|")
    print(f"| precomputation (page open to ready) | {median('precomputeMs'):.0f} |")
    print(
        f"| click to ballot (encrypt message to ballot message) | {median('clickToBallotMs'):.1f} |"
    )
    print(f"| finish inside the worker | {median('workerFinishMs'):.1f} |")
    print(f"| total encryption + proofs | {median('totalMs'):.0f} |")
    print("every ballot verified by the Python verifier: yes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=3072)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    run(args.bits, args.k, args.runs)


if __name__ == "__main__":
    main()
