"""Benchmark of the browser verifier beside the reference verifier, on the same records.

Usage::

    .venv/bin/python -m bench.verify_browser [--ballots 1000 10000] [--bits 3072]
        [--workers 2] [--reuse] [--keep] [--no-chromium] [--no-node]

For each size it writes a published v2 record (one question, 1 of 5, as
``bench/verify.py`` makes them: valid proofs, a real decryption) to
``var/bench/``, or reuses the one there with ``--reuse``, then verifies it
three ways in the same run:

- ``python -m elections.verify --workers N`` (the reference verifier);
- the "Verify this election" worker (``verify-worker.js`` with its pool of
  batch workers, one per core) in Debian's chromium under a CSP without
  'unsafe-inline' or 'unsafe-eval', the record streamed over HTTP from
  127.0.0.1 in 64 KB chunks;
- the same modules under Node on one thread (``bench/verify-browser.mjs``).

It prints wall time, ballots/s and peak RSS (the reference verifier: the
largest of its processes; chromium: the renderer process that runs the page
and its workers, from ``/proc``, so Linux only; Node: the process), and exits
1 unless every run says the record verifies.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from bench import verify as cli_bench

ROOT = Path(__file__).resolve().parents[1]
STATIC_DIR = ROOT / "elections" / "static" / "elections"
NODE_RUNNER = ROOT / "bench" / "verify-browser.mjs"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
CSP = (
    "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
CHUNK = 64 * 1024
HARNESS_HTML = b"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Browser verifier benchmark</title></head>
<body><p id="result">verifying</p><script src="/harness.js"></script></body></html>"""
HARNESS_JS = b"""
const state = { progress: [0, 0], violations: 0, started: performance.now() };
window.benchState = state;
document.addEventListener("securitypolicyviolation", () => { state.violations += 1; });
const worker = new Worker("/js/verify-worker.js", { type: "module" });
worker.onmessage = (event) => {
  const message = event.data;
  if (message.type === "progress") {
    state.progress = [message.done, message.total];
  } else if (message.type === "report") {
    state.seconds = (performance.now() - state.started) / 1000;
    state.report = message.report;
    document.getElementById("result").dataset.state = "done";
  } else if (message.type === "error") {
    state.error = message.message;
    document.getElementById("result").dataset.state = "error";
  }
};
worker.onerror = () => {
  state.error = "the worker could not start";
  document.getElementById("result").dataset.state = "error";
};
worker.postMessage({ type: "verify", url: "/record.json", minKeyBits: 2048 });
"""

PAGES = {
    "/": (HARNESS_HTML, "text/html; charset=utf-8"),
    "/harness.js": (HARNESS_JS, "text/javascript"),
}


def make_handler(record: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/record.json":
                self.stream(record)
                return
            found = PAGES.get(self.path) or self.static()
            if found is None:
                self.send_error(404)
                return
            body, kind = found
            self.head(kind, len(body))
            self.wfile.write(body)

        def static(self) -> tuple[bytes, str] | None:
            # As the site serves them: the worker's modules and what they import.
            path = (STATIC_DIR / self.path.lstrip("/")).resolve()
            if not (path.is_relative_to(STATIC_DIR) and path.is_file()):
                return None
            return path.read_bytes(), "text/javascript"

        def head(self, kind: str, length: int) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(length))
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()

        def stream(self, path: Path) -> None:
            self.head("application/json", path.stat().st_size)
            with path.open("rb") as source:
                while chunk := source.read(CHUNK):
                    self.wfile.write(chunk)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def renderer_peak_rss() -> int:
    """The largest peak RSS (VmHWM) of a chromium renderer started by this process."""
    children = _children()
    stack, peak = [os.getpid()], 0
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if b"--type=renderer" in command:
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
    return peak


def run_chromium(record: Path) -> dict[str, Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(record))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            cores = page.evaluate("navigator.hardwareConcurrency")
            while page.get_attribute("#result", "data-state") is None:
                done, total = page.evaluate("window.benchState.progress")
                print(f"\r  chromium: {done:,} / {total:,}", end="", file=sys.stderr, flush=True)
                time.sleep(2)
            print(file=sys.stderr)
            state = page.evaluate("window.benchState")
            peak = renderer_peak_rss()
            version = browser.version
            browser.close()
    finally:
        server.shutdown()
    if "error" in state:
        raise SystemExit(f"chromium: {state['error']}")
    report = state["report"]
    return {
        "label": f"chromium {version.split('.')[0]}, {min(cores, 8)} batch workers",
        "exit_code": report["exit_code"],
        "seconds": state["seconds"],
        "peak": peak,
        "violations": state["violations"],
    }


def run_node(record: Path) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(NODE_RUNNER), str(record)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    return {
        "label": "Node, one thread",
        "exit_code": result["exit_code"],
        "seconds": result["seconds"],
        "peak": result["max_rss"],
    }


def run_cli(record: Path, workers: int) -> dict[str, Any]:
    wall, _, rss, code = cli_bench.run_verifier(record, workers)
    label = f"python -m elections.verify, {workers} workers"
    return {"label": label, "exit_code": code, "seconds": wall, "peak": rss}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--bits", type=int, default=3072)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="reuse a record already made")
    parser.add_argument("--keep", action="store_true", help="keep the record files")
    parser.add_argument("--no-chromium", action="store_true")
    parser.add_argument("--no-node", action="store_true")
    options = parser.parse_args()
    cli_bench.OUT_DIR.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in options.ballots:
        record = cli_bench.OUT_DIR / f"browser-record-{options.bits}-{size}.json"
        print(f"{size:,} ballots:", file=sys.stderr)
        if not (options.reuse and record.exists()):
            cli_bench.generate(size, options.bits, record)
        runs = [run_cli(record, options.workers)]
        if not options.no_chromium:
            runs.append(run_chromium(record))
        if not options.no_node:
            runs.append(run_node(record))
        rows.extend((size, record.stat().st_size, run) for run in runs)
        if not (options.keep or options.reuse):
            record.unlink()
    print(f"{options.bits}-bit key, one question of 5 options; {os.cpu_count()} cores")
    print("| ballots | record MB | verifier | exit | wall s | ballots/s | peak RSS MB |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for size, length, run in rows:
        print(
            f"| {size:,} | {length / 1e6:,.0f} | {run['label']} | {run['exit_code']} "
            f"| {run['seconds']:.1f} | {size / run['seconds']:,.0f} | {run['peak'] / 2**20:,.0f} |"
        )
    violations = sum(run.get("violations", 0) for _, _, run in rows)
    print(f"CSP violations in chromium: {violations}")
    return 0 if all(run["exit_code"] == 0 for _, _, run in rows) and not violations else 1


if __name__ == "__main__":
    sys.exit(main())
