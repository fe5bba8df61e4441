"""Create (or replace) an open demonstration election with accounts, and optionally ballots."""

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import ProtectedError
from django.urls import NoReverseMatch, reverse

from accounts.models import Role, User
from elections import crypto, services
from elections.concurrency import atomic_write
from elections.crypto.threshold import MAX_TRUSTEES, KeyShare, ThresholdKey, deal
from elections.models import Candidate, Election, Question, RollEntry, RollMode
from elections.trustee.files import dump_public_key, dump_share, make_public_key

DEMO_SLUG = "demo"
# Demo accounts are recognised by both their prefix and this reserved domain (RFC 2606),
# so replacing a demo never touches a real account.
DEMO_PREFIX = "demo-"
DEMO_DOMAIN = "demo.invalid"
DEFAULT_TRUSTEES_OUT = Path(settings.BASE_DIR) / "var" / "demo-trustees"
DEMO_KEY_BITS = 2048
CANDIDATES = (
    ("Ada Lovelace", "Analytical Party", "Programmes for every engine.", True),
    ("Grace Hopper", "Compiler Union", "Make machines speak our language.", True),
    ("Alan Turing", "Independent", "Can machines think? Let us find out together.", False),
    (
        "Edsger Dijkstra",
        "Structured Alliance",
        "Simplicity is prerequisite for reliability.",
        False,
    ),
)


@dataclass
class Credentials:
    admin: dict[str, str] = field(default_factory=dict)
    voters: list[dict[str, str]] = field(default_factory=list)
    candidates: list[dict[str, str]] = field(default_factory=list)


class Command(BaseCommand):
    help = (
        f"Create an open demonstration election {DEMO_SLUG!r} with two questions (a chair "
        "among four candidates, and a yes/no question allowing a blank vote), replacing any "
        "previous demo and its demo accounts: candidates, an administrator and voters with random "
        "passwords, a fresh key dealt to one trustee (or K of N) with unsealed demo shares, and "
        "optionally some cast ballots. Prints the "
        "credentials. Never run it on a site used for real elections."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--voters", type=int, default=10, help="Voter accounts to create.")
        parser.add_argument("--cast", type=int, default=0, help="Ballots to cast at random.")
        parser.add_argument(
            "--audits",
            type=int,
            default=0,
            help="Ballots to audit (reveal, never count) before any is cast, at most 20 per voter.",
        )
        parser.add_argument("--bits", type=int, default=DEMO_KEY_BITS, help="Key size.")
        parser.add_argument(
            "--key-out",
            metavar="PATH",
            help="A new directory for public.json and the unsealed demo shares "
            f"(default: {DEFAULT_TRUSTEES_OUT}, replaced).",
        )
        parser.add_argument(
            "--trustees",
            type=int,
            metavar="N",
            help="Split the key between N trustees (unsealed demo shares); default 1.",
        )
        parser.add_argument(
            "--threshold", type=int, metavar="K", help="With --trustees: K of them decrypt (1)."
        )
        parser.add_argument("--json", action="store_true", help="Print a JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        voters, cast, bits = options["voters"], options["cast"], options["bits"]
        if voters < 1 or voters > 10_000:
            raise CommandError("--voters must be between 1 and 10000.")
        if cast < 0 or cast > voters:
            raise CommandError("--cast must be between 0 and the number of voters.")
        if not 0 <= options["audits"] <= services.AUDIT_LIMIT * voters:
            raise CommandError(f"--audits must be between 0 and {services.AUDIT_LIMIT} per voter.")
        if bits < crypto.minimum_key_bits() or bits % 2:
            raise CommandError(
                f"--bits must be an even number of at least {crypto.minimum_key_bits()}."
            )
        self.handle_trustees(options)

    def handle_trustees(self, options: dict[str, Any]) -> None:
        """The demo with a K-of-N key dealt here, its shares written unsealed to a directory."""
        trustees, threshold = options["trustees"], options["threshold"]
        if (trustees is None) != (threshold is None):
            raise CommandError("--trustees and --threshold go together.")
        if trustees is None:
            trustees = threshold = 1  # one key holder, as a single administrator would
        if not 1 <= threshold <= trustees <= MAX_TRUSTEES:
            raise CommandError(f"Need 1 <= --threshold <= --trustees <= {MAX_TRUSTEES}.")
        directory = Path(options["key_out"]) if options["key_out"] else DEFAULT_TRUSTEES_OUT
        names = ["public.json"] + [f"trustee-{i}.json" for i in range(1, trustees + 1)]
        descriptors: list[int] = []
        try:
            for name in names:
                descriptors.append(open_key_file(directory / name, replace=not options["key_out"]))
        except CommandError:
            for descriptor, name in zip(descriptors, names, strict=False):
                os.close(descriptor)
                os.unlink(directory / name)
            raise
        try:
            self.stderr.write(f"Dealing a {threshold}-of-{trustees} key...")
            key, shares = deal(options["bits"], threshold, trustees)
            with atomic_write():
                election, credentials, accounts = self.build(options["voters"])
                documents = trustee_files(election, key, shares)
                services.set_election_key(election=election, public_file=documents[0], actor=None)
                services.open_election(election=election, actor=None)
        except (services.ElectionError, ProtectedError, crypto.CryptoError) as error:
            for descriptor, name in zip(descriptors, names, strict=True):
                os.close(descriptor)
                os.unlink(directory / name)
            raise CommandError(f"The demo could not be created: {error}") from None
        for descriptor, document in zip(descriptors, documents, strict=True):
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(document)
        self.stderr.write(
            "WARNING: the trustee shares in "
            f"{directory} are UNSEALED DEMO SHARES, readable by anyone who can read the "
            "files. A real election runs `python -m elections.trustee ceremony` offline and "
            "seals each share under its trustee's passphrase."
        )
        self.audit_ballots(election, accounts, options["audits"])
        cast_count = self.cast_ballots(election, accounts[: options["cast"]])
        self.report(election, credentials, directory, cast_count, as_json=options["json"])

    def build(self, voters: int) -> tuple[Election, Credentials, list[User]]:
        remove_previous_demo()
        credentials = Credentials()
        admin, password = make_account(f"{DEMO_PREFIX}admin", Role.ADMINISTRATOR)
        credentials.admin = {"username": admin.username, "password": password}
        election = Election.objects.create(
            slug=DEMO_SLUG,
            title="Demonstration election",
            description="A demonstration: the accounts and ballots are made up.",
            roll_mode=RollMode.EXPLICIT,
        )
        chair = []
        for position, (name, affiliation, statement, linked) in enumerate(CANDIDATES, start=1):
            account = None
            if linked:
                account, password = make_account(
                    f"{DEMO_PREFIX}candidate-{position}",
                    Role.CANDIDATE,
                    display_name=name,
                    affiliation=affiliation,
                    statement=statement,
                )
                credentials.candidates.append({"username": account.username, "password": password})
            chair.append(
                Candidate(name=name, affiliation=affiliation, statement=statement, account=account)
            )
        services.add_question(
            election=election,
            question=Question(
                position=1,
                title="Who should chair the committee?",
                description="The chair serves for two years.",
            ),
            options=chair,
        )
        services.add_question(
            election=election,
            question=Question(
                position=2, title="Should meetings be held online?", allow_blank=True
            ),
            options=[Candidate(name="Yes"), Candidate(name="No")],
        )
        accounts = []
        width = len(str(voters))
        for number in range(1, voters + 1):
            voter, password = make_account(f"{DEMO_PREFIX}voter-{number:0{width}}", Role.VOTER)
            RollEntry.objects.create(election=election, voter=voter)
            credentials.voters.append({"username": voter.username, "password": password})
            accounts.append(voter)
        return election, credentials, accounts

    def audit_ballots(self, election: Election, voters: list[User], audits: int) -> None:
        """Audited ballots from the demo voters, in turn, before anyone casts."""
        params = services.election_params(election)
        chooser = secrets.SystemRandom()
        for done in range(1, audits + 1):
            voter = voters[(done - 1) % len(voters)]
            selections = random_choice(params, chooser)
            pre = crypto.client.precompute_ballot(params, services.voter_context(election, voter))
            ballot = crypto.client.finish_ballot(pre, selections)
            document = crypto.audit_ballot(pre, ballot, selections).to_json()
            try:
                services.post_audited_ballot(election=election, voter=voter, payload=document)
            except services.ElectionError as error:
                raise CommandError(f"Auditing a demo ballot failed: {error}") from None
            if done % 10 == 0 or done == audits:
                self.stderr.write(f"... {done}/{audits} ballots audited")

    def cast_ballots(self, election: Election, voters: list[User]) -> int:
        params = services.election_params(election)
        chooser = secrets.SystemRandom()
        for done, voter in enumerate(voters, start=1):
            selections = random_choice(params, chooser)
            ballot = crypto.encrypt_ballot(
                params, services.voter_context(election, voter), selections
            )
            try:
                services.cast_ballot(
                    election=election, voter=voter, payload=crypto.ballot_to_json(ballot, params)
                )
            except services.ElectionError as error:
                raise CommandError(f"Casting a demo ballot failed: {error}") from None
            if done % 10 == 0 or done == len(voters):
                self.stderr.write(f"... {done}/{len(voters)} ballots cast")
        return len(voters)

    def report(
        self,
        election: Election,
        credentials: Credentials,
        key_path: Path,
        cast: int,
        *,
        as_json: bool,
    ) -> None:
        url = site_url("elections:detail", slug=election.slug)
        if as_json:
            document = {
                "election": election.slug,
                "url": url,
                "admin": credentials.admin,
                "voters": credentials.voters,
                "candidates": credentials.candidates,
                "key_file": str(key_path),
                "unsealed_demo_shares": election.has_trustees,
                "cast": cast,
            }
            self.stdout.write(json.dumps(document, indent=2))
            return
        lines = [
            f"Demo election {election.slug!r} is open with {cast} ballot(s) cast.",
            f"Election page: {url}",
            f"Administration: {site_url('admin:index')}",
            key_line(election, key_path),
            "",
            f"Administrator: {credentials.admin['username']}  {credentials.admin['password']}",
        ]
        lines += [f"Candidate: {c['username']}  {c['password']}" for c in credentials.candidates]
        lines += [f"Voter: {v['username']}  {v['password']}" for v in credentials.voters]
        self.stdout.write("\n".join(lines))


def trustee_files(election: Election, key: ThresholdKey, shares: list[KeyShare]) -> list[bytes]:
    """public.json, then each trustee's share, unsealed (demonstrations only)."""
    public = make_public_key(str(election.id), key)
    return [dump_public_key(public)] + [
        dump_share(public, share, passphrase=None) for share in shares
    ]


def random_choice(params: crypto.ElectionParams, chooser: secrets.SystemRandom) -> list[int]:
    """A valid answer to every question, at random: a blank vote now and then where allowed."""
    selections: list[int] = []
    for question in params.questions:
        options = len(question.options)
        answer = [0] * question.width
        if question.blank and chooser.random() < 0.15:
            answer[options] = 1
        else:
            count = chooser.randint(question.min_selections, question.max_selections)
            for index in chooser.sample(range(options), count):
                answer[index] = 1
        selections.extend(answer)
    return selections


def open_key_file(path: Path, *, replace: bool) -> int:
    """A new file with mode 0600; only the default demo files may be replaced."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if replace:
            path.unlink(missing_ok=True)  # a fresh file, so the mode below applies
        return os.open(path, flags, 0o600)
    except FileExistsError:
        raise CommandError(f"{path} already exists; it was not overwritten.") from None
    except OSError as error:
        raise CommandError(f"Cannot create {path}: {error.strerror}.") from None


def remove_previous_demo() -> None:
    previous = Election.objects.filter(slug=DEMO_SLUG).first()
    if previous is not None:
        services.reset_election(election=previous, actor=None)
        previous.delete()
    User.objects.filter(
        username__startswith=DEMO_PREFIX, email__endswith=f"@{DEMO_DOMAIN}"
    ).delete()


def make_account(username: str, role: Role, **fields: Any) -> tuple[User, str]:
    password = secrets.token_urlsafe(12)
    is_admin = role == Role.ADMINISTRATOR
    user = User.objects.create_user(
        username=username,
        email=f"{username}@{DEMO_DOMAIN}",
        password=password,
        role=role,
        is_approved=True,
        is_staff=is_admin,
        is_superuser=is_admin,
        **fields,
    )
    return user, password


def key_line(election: Election, key_path: Path) -> str:
    trustee_page = site_url("elections:trustee", slug=election.slug)
    return (
        f"UNSEALED DEMO trustee shares and public.json: {key_path}. After closing, K "
        f"trustees decrypt on {trustee_page} with their trustee-<i>.json (no passphrase), "
        "or offline: python -m elections.trustee decrypt --share trustee-<i>.json --public "
        f"public.json --tally tally.json --out partial-<i>.json and manage.py submit_partial "
        f"{election.slug} partial-<i>.json. Then publish in the admin or with manage.py tally "
        f"{election.slug}."
    )


def site_url(name: str, **kwargs: str) -> str:
    try:
        path = reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        path = "/"
    base: str = settings.SITE_URL
    return base.rstrip("/") + path
