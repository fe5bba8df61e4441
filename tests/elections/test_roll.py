"""Importing a voter roll: validation of every row before any write, accounts, emails."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEntry, Role, User
from elections import roll, services
from elections.models import RollEntry, RollMode

pytestmark = pytest.mark.django_db

SITE = "https://vote.example.org"
HEADER = "username,email,first_name,last_name\n"


def import_roll(election, text, actor=None, dry_run=False):
    return roll.import_voters(
        election=election, csv_text=text, actor=actor, dry_run=dry_run, site_url=SITE
    )


def test_import_creates_attaches_and_emails(draft_election, admin_user, voter, make_user):
    listed = make_user("listed_voter")
    RollEntry.objects.create(election=draft_election, voter=listed)
    text = (
        HEADER
        + "new_one,new.one@example.org,New,One\n"
        + "new_two,new.two@example.org,,\n"
        + f"{voter.username},{voter.email},,\n"
        + f"{listed.username},{listed.email},,\n"
    )
    report = import_roll(draft_election, text, actor=admin_user)
    assert report.ok and not report.dry_run
    assert report.created == ["new_one", "new_two"]
    assert report.attached == [voter.username]
    assert report.already_on_roll == [listed.username]
    new = User.objects.get(username="new_one")
    assert new.role == Role.VOTER and new.is_approved and not new.has_usable_password()
    assert (new.first_name, new.last_name, new.email) == ("New", "One", "new.one@example.org")
    draft_election.refresh_from_db()
    assert draft_election.roll_mode == RollMode.EXPLICIT
    on_roll = set(draft_election.roll.values_list("voter__username", flat=True))
    assert on_roll == {"new_one", "new_two", voter.username, listed.username}
    assert services.is_eligible(draft_election, new)
    # Only the accounts without a password are invited.
    assert report.invited == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["new.one@example.org", "new.two@example.org"]
    entry = AuditEntry.objects.get(action="elections.roll.imported")
    assert entry.data == {"created": 2, "attached": 1, "already_on_roll": 1}
    assert entry.actor == admin_user


def test_the_emailed_link_sets_a_password_that_signs_in(draft_election, client):
    import_roll(draft_election, HEADER + "newbie,newbie@example.org,,\n")
    link = re.search(rf"{SITE}(/\S+)", str(mail.outbox[0].body))
    assert link is not None
    response = client.get(link.group(1))
    assert response.status_code == 302  # Django swaps the token for a session-held one
    form_url = response["Location"]
    page = client.get(form_url)
    assert page.status_code == 200 and b"Choose your password" in page.content
    password = "a brand new passphrase 77"
    response = client.post(form_url, {"new_password1": password, "new_password2": password})
    assert response.status_code == 302 and response["Location"] == reverse(
        "password_reset_complete"
    )
    assert User.objects.get(username="newbie").check_password(password)
    # The link works once.
    assert b"not valid" in client.get(link.group(1), follow=True).content


def test_forgotten_password_form_is_routed(client, voter):
    assert client.get(reverse("password_reset")).status_code == 200
    response = client.post(reverse("password_reset"), {"email": voter.email})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1 and voter.username in mail.outbox[0].body


def test_dry_run_changes_nothing(draft_election, voter):
    text = HEADER + "new_one,new.one@example.org,,\n" + f"{voter.username},{voter.email},,\n"
    report = import_roll(draft_election, text, dry_run=True)
    assert report.ok and report.dry_run
    assert report.created == ["new_one"] and report.attached == [voter.username]
    assert not User.objects.filter(username="new_one").exists()
    assert not RollEntry.objects.exists()
    draft_election.refresh_from_db()
    assert draft_election.roll_mode == RollMode.ALL_APPROVED_VOTERS
    assert not mail.outbox and not AuditEntry.objects.exists()


def test_every_bad_row_is_reported_and_nothing_imported(
    draft_election, admin_user, candidate, voter
):
    text = (
        "username,email,first_name,last_name\n"  # line 1
        "good_one,good.one@example.org,,\n"  # 2: fine on its own
        "bad_email,not-an-email,,\n"  # 3
        "good_one,other@example.org,,\n"  # 4: duplicate username
        "dup_mail,GOOD.ONE@example.org,,\n"  # 5: duplicate email (case-insensitive)
        f"{candidate.username},x@example.org,,\n"  # 6: taken by a candidate
        f"{admin_user.username},y@example.org,,\n"  # 7: taken by an administrator
        "has space,z@example.org,,\n"  # 8: invalid username
        ",missing.user@example.org,,\n"  # 9: missing username
        "no_mail,,,\n"  # 10: missing email
        "short,row\n"  # 11: wrong number of fields
        "\n"  # 12: blank lines are skipped
        f"{'x' * 151},long@example.org,,\n"  # 13: username too long
        f"stolen,{candidate.email},,\n"  # 14: email of another account
        f"{voter.username.upper()},q@example.org,,\n"  # 15: differs only in case
        "Élise,e1@example.org,,\n"  # 16: fine on its own
        "élise,e2@example.org,,\n"  # 17: same name in non-ASCII case
    )
    report = import_roll(draft_election, text, actor=admin_user)
    assert not report.ok
    lines = sorted({error.line for error in report.errors})
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 17]
    messages = " | ".join(str(error) for error in report.errors)
    for expected in (
        "line 3: invalid email address 'not-an-email'",
        "line 4: duplicate username, first on line 2",
        "line 5: duplicate email, first on line 2",
        "line 6: username 'carol_candidate' belongs to a non-voter (candidate)",
        "line 7: username 'alice_admin' belongs to a non-voter (administrator)",
        "line 8: invalid username 'has space'",
        "line 9: missing username",
        "line 10: missing email",
        "line 11: expected 4 fields, found 2",
        "line 13: invalid username",
        "line 14: email address already used by account 'carol_candidate'",
        "line 15: username differs only in case or form from account 'victor_voter'",
        "line 17: duplicate username, first on line 16",
    ):
        assert expected in messages
    assert not User.objects.filter(username="good_one").exists()
    assert not RollEntry.objects.exists() and not mail.outbox
    assert not AuditEntry.objects.filter(action="elections.roll.imported").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,email\nx,x@example.org\n", "Wrong header (missing username; unknown 'name')"),
        (b"username,email,email\nx,x@example.org,y\n", "a repeated column"),
        (b"", "The file is empty"),
        (b"username,email\n", "lists no voters"),
        ("username,email\nj\u00e9r\u00f4me,j@example.org\n".encode("latin-1"), "not UTF-8"),
        (b"username,email\n" + b"a" * (5 * 1024 * 1024), "larger than 5 MB"),
        (b'username,email\n"unterminated,x@example.org\n', "line 2: unreadable CSV"),
        (b'username,email\nx,"a"b@example.org\n', "line 2: unreadable CSV"),
    ],
)
def test_file_level_problems(draft_election, data, message):
    report = import_roll(draft_election, data)
    assert not report.ok
    assert message in str(report.errors[0])
    assert not User.objects.exclude(username__in=[]).filter(email__endswith="example.org").exists()
    assert not RollEntry.objects.exists()


def test_utf8_with_byte_order_mark_and_any_column_order(draft_election):
    data = "\ufeffEmail,Username\nj@example.org,j\u00e9r\u00f4me\n".encode()
    report = import_roll(draft_election, data)
    assert report.ok and report.created == ["j\u00e9r\u00f4me"]


def test_import_refused_once_the_election_opened(open_election):
    with pytest.raises(services.WrongPhase):
        import_roll(open_election.election, HEADER + "late,late@example.org,,\n")
    assert not User.objects.filter(username="late").exists()


def test_unapproved_voters_are_attached_but_flagged(draft_election, pending_voter):
    report = import_roll(draft_election, f"username,email\n{pending_voter.username},p@e.org\n")
    assert report.ok and report.unapproved == [pending_voter.username]
    pending_voter.refresh_from_db()
    assert not pending_voter.is_approved


def test_progress_is_reported_for_large_files(draft_election):
    rows = "".join(f"voter{i},voter{i}@example.org\n" for i in range(2500))
    seen: list[int] = []
    report = roll.import_voters(
        election=draft_election,
        csv_text="username,email\n" + rows,
        actor=None,
        dry_run=True,
        progress=seen.append,
    )
    assert report.ok and len(report.created) == 2500
    assert seen == [1000, 2000]


def test_reimport_resends_links_to_voters_without_a_password(draft_election):
    text = HEADER + "forgetful,forgetful@example.org,,\n"
    import_roll(draft_election, text)
    report = import_roll(draft_election, text)
    assert report.already_on_roll == ["forgetful"] and report.invited == 1
    assert len(mail.outbox) == 2


def test_add_and_remove_single_entries(draft_election, admin_user, voter, candidate):
    entry = roll.add_to_roll(election=draft_election, voter=voter, actor=admin_user)
    assert draft_election.roll.filter(pk=entry.pk).exists()
    with pytest.raises(services.ElectionError, match="Only voter accounts"):
        roll.add_to_roll(election=draft_election, voter=candidate, actor=admin_user)
    roll.remove_from_roll(entry=entry, actor=admin_user)
    assert not draft_election.roll.exists()
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert sorted(actions) == ["elections.roll.added", "elections.roll.removed"]
