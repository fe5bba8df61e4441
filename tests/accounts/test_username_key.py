"""Usernames are unique after NFKC normalisation and case folding, enforced by the database."""

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from accounts.usernames import normalise_username
from tests.accounts.test_registration import GOOD
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def elise(make_user) -> User:
    return make_user("élise-voter", Role.VOTER)


def test_the_key_folds_case_and_compatibility_forms():
    assert normalise_username("Élise-Voter") == normalise_username("élise-voter")
    assert normalise_username("E\u0301lise") == normalise_username("élise")  # combining accent
    assert normalise_username("\uff21lice") == "alice"  # full-width A
    assert normalise_username("Straße") == normalise_username("STRASSE")


def test_saving_keeps_the_key_in_step_with_the_username(elise):
    assert elise.username_key == "élise-voter"
    elise.username = "Élise-Renamed"
    elise.save(update_fields=["username"])
    elise.refresh_from_db()
    assert elise.username_key == "élise-renamed"


def test_the_database_refuses_a_non_ascii_case_variant(elise):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(username="Élise-voter", password=PASSWORD)
    assert User.objects.count() == 1


@pytest.mark.parametrize("username", ["Élise-voter", "ÉLISE-VOTER", "E\u0301lise-voter"])
def test_registration_refuses_a_non_ascii_case_variant(client, elise, username):
    response = client.post(
        reverse("register_voter"), GOOD | {"username": username, "email": "x@example.org"}
    )
    assert response.status_code == 400
    assert b"already exists" in response.content
    assert User.objects.count() == 1


def test_registration_of_a_distinct_name_still_works(client, elise):
    response = client.post(reverse("register_voter"), GOOD | {"username": "elise-voter"})
    assert response.status_code == 302
    assert User.objects.get(username="elise-voter").username_key == "elise-voter"


def test_admin_add_form_refuses_a_non_ascii_case_variant(login_as, admin_user, elise):
    response = login_as(admin_user).post(
        reverse("admin:accounts_user_add"),
        {
            "username": "Élise-voter",
            "email": "other@example.org",
            "role": Role.VOTER,
            "usable_password": "true",
            "password1": "a strong enough passphrase 12",
            "password2": "a strong enough passphrase 12",
        },
    )
    assert response.status_code == 200
    assert b"already exists" in response.content
    assert User.objects.count() == 2


def test_admin_change_form_refuses_renaming_onto_a_variant(login_as, admin_user, elise, voter):
    url = reverse("admin:accounts_user_change", args=[voter.pk])
    response = login_as(admin_user).post(
        url,
        {
            "username": "ÉLISE-VOTER",
            "email": voter.email,
            "role": Role.VOTER,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 200
    assert b"already exists" in response.content
    voter.refresh_from_db()
    assert voter.username == "victor_voter"


def test_createsuperuser_refuses_a_non_ascii_case_variant(monkeypatch, elise):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "an admin passphrase of length 30")
    with pytest.raises(CommandError, match="already taken"):
        call_command(
            "createsuperuser", interactive=False, username="Élise-voter", email="e@example.org"
        )
    assert User.objects.count() == 1


def test_login_matches_on_the_normalised_username(elise):
    client = Client()
    response = client.post("/accounts/login/", {"username": "ÉLISE-VOTER", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("account")).wsgi_request.user == elise
