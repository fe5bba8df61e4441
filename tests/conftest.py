"""Shared fixtures: named personas for every role and state."""

import os
from collections.abc import Callable

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from accounts.models import Role, User

PASSWORD = "correct horse battery staple 42"


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("TEST_POSTGRES_URL"):
        no_server = pytest.mark.skip(
            reason="PostgreSQL variant not run: TEST_POSTGRES_URL is not set "
            "(`make test` sets up a local server; see README.md, 'Running on PostgreSQL')"
        )
        for item in items:
            if item.get_closest_marker("postgres"):
                item.add_marker(no_server)
    if not settings.USE_MONGODB:
        return
    skip = pytest.mark.skip(reason="SQLite-specific test, not run against MongoDB")
    for item in items:
        if "sqlite_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]


@pytest.fixture(autouse=True)
def _email_at_once(settings):
    # Sent in the calling thread, so a test sees its email when the call returns;
    # tests/accounts/test_background_mail.py runs the background sender itself.
    settings.EMAIL_IN_BACKGROUND = False


@pytest.fixture(autouse=True)
def _default_language():
    # A test client request leaves the language its middleware chose active in the
    # thread: a page fetched in French would make the next test's messages French.
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttles count in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    def make(username: str, role: Role = Role.VOTER, approved: bool = True, **extra) -> User:
        if role == Role.ADMINISTRATOR:
            extra.setdefault("is_staff", True)
            extra.setdefault("is_superuser", True)
        return User.objects.create_user(
            username=username,
            email=f"{username}@example.org",
            password=PASSWORD,
            role=role,
            is_approved=approved,
            **extra,
        )

    return make


@pytest.fixture
def admin_user(make_user) -> User:
    return make_user("alice_admin", Role.ADMINISTRATOR)


@pytest.fixture
def candidate(make_user) -> User:
    return make_user("carol_candidate", Role.CANDIDATE, display_name="Carol C.")


@pytest.fixture
def voter(make_user) -> User:
    return make_user("victor_voter", Role.VOTER)


@pytest.fixture
def pending_voter(make_user) -> User:
    return make_user("paula_pending", Role.VOTER, approved=False)


@pytest.fixture
def pending_candidate(make_user) -> User:
    return make_user("peter_pending", Role.CANDIDATE, approved=False)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def login_as() -> Callable[[User], Client]:
    return signed_in
