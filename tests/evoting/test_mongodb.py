"""MongoDB support checks that need no MongoDB server, run in every CI run.

The whole suite runs against a real MongoDB with ``make test-mongodb`` when
``TEST_MONGODB_URI`` points at a single-node replica set (see README.md).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MONGODB_URL = "mongodb://127.0.0.1:27017/evoting_check?serverSelectionTimeoutMS=1000"


def run_with_mongodb(
    *args: str, variable: str = "DATABASE_URL"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MONGODB_URI"}}
    env[variable] = MONGODB_URL
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


SHOW_SETTINGS = (
    "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'evoting.settings');"
    "django.setup(); from django.conf import settings as s;"
    "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.DEFAULT_AUTO_FIELD);"
    "print(' '.join(s.INSTALLED_APPS)); print(sorted(s.MIGRATION_MODULES))"
)


@pytest.mark.parametrize("variable", ["DATABASE_URL", "MONGODB_URI"])
def test_mongodb_settings_load(variable):
    result = run_with_mongodb("-c", SHOW_SETTINGS, variable=variable)
    assert result.returncode == 0, result.stderr
    engine_line, apps_line, modules_line = result.stdout.strip().splitlines()
    assert engine_line == (
        "django_mongodb_backend evoting_check django_mongodb_backend.fields.ObjectIdAutoField"
    )
    apps = apps_line.split()
    assert "evoting.mongo_apps.MongoAuthConfig" in apps
    assert "evoting.mongo_apps.MongoAxesConfig" in apps
    assert "django.contrib.auth" not in apps
    assert modules_line == "['admin', 'auth', 'axes', 'contenttypes']"


def test_manage_check_passes_under_mongodb_settings():
    result = run_with_mongodb("manage.py", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_committed_mongodb_migrations_are_up_to_date():
    result = run_with_mongodb("-m", "evoting.mongo_migrations.check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


@pytest.mark.sqlite_only  # it starts the MongoDB run, so not from inside one
def test_full_suite_on_mongodb_needs_a_server():
    if not os.environ.get("TEST_MONGODB_URI"):
        pytest.skip(
            "MongoDB suite not run: TEST_MONGODB_URI is not set (no MongoDB server can be "
            "installed on this machine; see README.md, 'Running on MongoDB')"
        )
    result = subprocess.run(
        ["make", "test-mongodb"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]


FORBIDDEN = {
    r"select_for_update": "select_for_update does nothing on SQLite or MongoDB",
    r"\.raw\(|\.extra\(|connection\.cursor\(|\bRawSQL\b": "raw SQL cannot run on MongoDB",
    r"DatabaseCache": "the database cache backend does not run on MongoDB",
    r"transaction\.atomic": "only elections/concurrency.py may choose how to be atomic",
    r"django\.contrib\.postgres|\bpsycopg\b": "PostgreSQL-only fields, lookups or driver calls",
    r"\.distinct\([^)]": "DISTINCT ON (fields) is PostgreSQL-only",
    r"update_conflicts|ignore_conflicts": "ON CONFLICT upserts are SQL-only",
    r"connection\.vendor|\.features\.": "only elections/concurrency.py may branch on the database",
}


def test_no_code_relies_on_sql_only_features():
    offenders = []
    for path in [
        *ROOT.glob("accounts/**/*.py"),
        *ROOT.glob("elections/**/*.py"),
        *ROOT.glob("evoting/*.py"),
    ]:
        # The two places that know the database: settings chooses it, concurrency.py
        # chooses how a write is atomic on it.
        if "migrations" in path.parts or path.name in {"concurrency.py", "settings.py"}:
            continue
        text = path.read_text()
        for pattern, why in FORBIDDEN.items():
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(ROOT)}: {why}")
    assert not offenders, "\n".join(offenders)
