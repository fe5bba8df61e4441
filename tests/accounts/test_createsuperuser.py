import pytest
from django.core.management import call_command

from accounts.models import Role, User

pytestmark = pytest.mark.django_db


def test_createsuperuser_yields_approved_administrator(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "an admin passphrase of length 30")
    call_command(
        "createsuperuser", interactive=False, username="root_admin", email="root@example.org"
    )
    user = User.objects.get(username="root_admin")
    assert user.role == Role.ADMINISTRATOR
    assert user.is_approved and user.is_staff and user.is_superuser
    assert user.check_password("an admin passphrase of length 30")


def test_superuser_cannot_have_another_role():
    with pytest.raises(ValueError, match="administrator role"):
        User.objects.create_superuser("x", "x@example.org", "pw of some length 1", role=Role.VOTER)
