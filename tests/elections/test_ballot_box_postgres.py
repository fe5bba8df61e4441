"""The in-process ballot-box tests again, on PostgreSQL.

pytest-django creates the test database once per session, for the database the
settings name, and the ballot box always writes through the default database; so
these tests run on PostgreSQL in a pytest session of their own, whose
``DATABASE_URL`` names a new database on the server of ``TEST_POSTGRES_URL``
(pytest-django creates ``test_<name>`` there and drops it at the end). They inject
a rival's write, a crash or a close at the worst moment of a cast; the live-site
tests (``test_concurrency.py``, the kill test in ``test_threat_cases.py``) run
truly concurrent writers on the same server.
"""

import os
import secrets
import subprocess
import sys

import pytest

from .livesite import PROJECT_ROOT, postgres_server_url, with_database_name

IN_PROCESS_TESTS = (
    "tests/elections/test_ballot_box.py",
    "tests/elections/test_phase_races.py",
    "tests/elections/test_services.py",
    "tests/elections/test_pre_decryption_check.py",
)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.sqlite_only  # it starts a run on another database, so not from inside one
def test_the_in_process_ballot_box_tests_pass_on_postgresql():
    server = postgres_server_url()
    assert server is not None
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MONGODB_URI"}}
    env["DATABASE_URL"] = with_database_name(server, f"evoting_{secrets.token_hex(6)}")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *IN_PROCESS_TESTS],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
