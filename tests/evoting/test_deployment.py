"""Production settings, exercised in real subprocesses as an operator would run them."""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    env.update(
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1,vote.example.org",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_passes_with_production_values(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "too-short"}, "SECRET_KEY is too weak"),
        ({"SECRET_KEY": "django-insecure-" + "a1b2c3d4e5" * 6}, "SECRET_KEY is too weak"),
        ({"SECRET_KEY": "a" * 80}, "SECRET_KEY is too weak"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must be set"),
    ],
)
def test_unsafe_production_settings_fail_loudly(tmp_path, override, message):
    result = manage(production_env(tmp_path, **override), "check")
    assert result.returncode != 0
    assert message in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_development_defaults_need_no_environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = manage(env, "diffsettings", "--all")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^DEBUG = True$", result.stdout, re.M)
    assert "'transaction_mode': 'IMMEDIATE'" in result.stdout
    assert "journal_mode=WAL" in result.stdout
    assert "Argon2PasswordHasher" in result.stdout.split("PASSWORD_HASHERS = ")[1].split(",")[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Fetched:
    status: int
    headers: Message
    body: bytes


def fetch(url: str, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers=headers or {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        response = opener.open(request, timeout=10)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        return Fetched(response.status, response.headers, response.read())


@pytest.fixture
def gunicorn_site(tmp_path):
    env = production_env(tmp_path, BEHIND_TLS_PROXY="True")
    for args in (("migrate", "--noinput"), ("collectstatic", "--noinput")):
        result = manage(env, *args)
        assert result.returncode == 0, result.stderr
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "evoting.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield base, Path(env["STATIC_ROOT"])
    finally:
        server.terminate()
        server.wait(timeout=10)


HTTPS = {"X-Forwarded-Proto": "https"}


def test_static_files_served_hashed_and_compressed_with_debug_off(gunicorn_site):
    base, static_root = gunicorn_site
    hashed = [p.name for p in (static_root / "css").glob("site.*.css")]
    assert hashed, "collectstatic produced no hashed stylesheet"
    response = fetch(f"{base}/static/css/{hashed[0]}", HTTPS | {"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers["Content-Encoding"] == "gzip"
    assert "max-age=315360000" in response.headers["Cache-Control"]

    home = fetch(base + "/", HTTPS)
    assert home.status == 200
    page = home.body.decode()
    assert f"/static/css/{hashed[0]}" in page
    assert "cdn" not in page.lower()


def test_security_headers_in_production(gunicorn_site):
    base, _ = gunicorn_site
    response = fetch(base + "/", HTTPS)
    csp = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp)
    assert script_src is not None
    assert "'unsafe-inline'" not in script_src.group(1)
    assert "'unsafe-eval'" not in script_src.group(1)
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cookie_page = fetch(base + "/accounts/login/", HTTPS)
    cookie = cookie_page.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" not in cookie.split("csrftoken")[0]
    assert fetch(base + "/admin/login/", HTTPS).status == 200


def test_plain_http_is_redirected_to_https(gunicorn_site):
    base, _ = gunicorn_site
    response = fetch(base + "/accounts/login/")
    assert response.status == 301
    assert response.headers["Location"].startswith("https://")
