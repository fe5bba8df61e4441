"""Operations that change accounts. Views, admin actions and commands all call these."""

from collections.abc import Iterable

from . import notifications
from .audit import log_action
from .models import Role, User

SELF_REGISTRATION_ROLES = frozenset({Role.VOTER, Role.CANDIDATE})


def register_account(*, user: User, role: Role) -> User:
    """Store a self-registered account, always unapproved and never privileged.

    ``user`` is an unsaved instance built from a registration form; whatever the
    request carried, the role, approval and staff flags are set here.
    """
    if role not in SELF_REGISTRATION_ROLES:
        raise ValueError(f"Nobody can register as {role}.")
    user.role = role
    user.is_approved = False
    user.is_staff = False
    user.is_superuser = False
    user.is_active = True
    user.save()
    log_action(actor=user, action="accounts.user.registered", target=user, data={"role": role})
    return user


def approve_accounts(*, users: Iterable[User], actor: User) -> int:
    """Approve the given pending accounts; return how many changed."""
    approved = 0
    for user in users:
        if user.is_approved:
            continue
        user.is_approved = True
        user.save(update_fields=["is_approved"])
        log_action(
            actor=actor,
            action="accounts.user.approved",
            target=user,
            data={"username": user.username, "role": user.role},
        )
        notifications.account_approved(user=user)
        approved += 1
    return approved
