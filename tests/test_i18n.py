"""The site in English, French and German.

The committed catalogs (locale/<language>/LC_MESSAGES/django.po and djangojs.po) are
complete: every string is translated in each language, none is fuzzy, and extracting
the strings again from the code finds none that the catalogs lack, so a new string
without its translations fails here. Every public page, the booth and the emails come
out in the visitor's (or recipient's) language, and the scripts get their words from
Django's JavaScript catalog under the site's Content-Security-Policy.
"""

import ast
import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation.trans_real import DjangoTranslation

from accounts.models import Role, User
from accounts.notifications import recipient_language, render_email
from elections import services
from elections.crypto.keys import allow_small_keys_for_tests
from elections.crypto.threshold import deal
from elections.models import Election
from elections.trustee.decryption import partially_decrypt_tally
from elections.trustee.files import dump_partial, dump_public_key, load_tally, make_public_key

from .conftest import signed_in
from .elections.conftest import add_question, make_ballot

ROOT = Path(settings.BASE_DIR)
LOCALE = ROOT / "locale"
LANGUAGES = ("fr", "de")
DOMAINS = ("django", "djangojs")
# The same extraction as `make makemessages`.
MAKEMESSAGES = [
    "makemessages",
    "--no-obsolete",
    "--add-location=file",
    *("--ignore=" + path for path in (".venv", "node_modules", "staticfiles", "var")),
    "--ignore=elections/static/elections/vendor",
]


# --- The catalogs ----------------------------------------------------------------------


@dataclass
class Entry:
    context: str | None
    msgid: str
    plural: str | None
    translations: list[str]
    fuzzy: bool

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return self.context, self.msgid, self.plural


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file, the header (msgid "") included."""
    entries = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        fields: dict[str, str] = {}
        field = ""
        fuzzy = False
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("#,"):
                fuzzy = fuzzy or "fuzzy" in line[2:].split(", ")
            elif line.startswith("#~"):
                raise AssertionError(f"{path}: an obsolete entry is kept: {line}")
            elif match := re.match(r"(msg\w+(?:\[\d+\])?) (\".*\")$", line):
                field = match.group(1)
                fields[field] = ast.literal_eval(match.group(2))
            elif line.startswith('"'):
                fields[field] += ast.literal_eval(line)
        if "msgid" not in fields:
            continue
        translations = [
            value for name, value in sorted(fields.items()) if name.startswith("msgstr")
        ]
        entries.append(
            Entry(
                fields.get("msgctxt"),
                fields["msgid"],
                fields.get("msgid_plural"),
                translations,
                fuzzy,
            )
        )
    return entries


def incomplete(entries: list[Entry]) -> list[str]:
    """What a catalog lacks: untranslated or fuzzy entries, by their msgid."""
    return [
        entry.msgid or "(the header)"
        for entry in entries
        if entry.fuzzy or not all(entry.translations)
    ]


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated_and_none_is_fuzzy(language, domain):
    entries = read_po(LOCALE / language / "LC_MESSAGES" / f"{domain}.po")
    assert len(entries) > 100
    assert incomplete(entries) == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_languages_have_the_same_strings(domain):
    french, german = (
        {entry.key for entry in read_po(LOCALE / language / "LC_MESSAGES" / f"{domain}.po")}
        for language in LANGUAGES
    )
    assert french == german


def test_the_compiled_catalogs_are_those_of_the_committed_ones():
    """The .mo files (built by `make install`, never committed) are newer than their .po."""
    for po in LOCALE.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, (
            f"{mo} is missing or older than {po.name}: run `make messages`"
        )


@pytest.mark.slow
def test_extracting_the_strings_again_finds_none_missing(tmp_path):
    """makemessages on a copy of the code: every string it finds is already translated."""
    copy = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__", "vendor", "*.mo")
    for name in ("accounts", "elections", "evoting", "templates", "locale"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "evoting.settings"}
    for domain, extra in (("django", []), ("djangojs", ["--extension=js,mjs"])):
        command = [sys.executable, "manage.py", *MAKEMESSAGES, f"--domain={domain}", *extra]
        for language in LANGUAGES:
            done = subprocess.run(
                [*command, f"--locale={language}"],
                cwd=copy,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stderr  # makemessages needs Debian's gettext
            path = f"{language}/LC_MESSAGES/{domain}.po"
            extracted = read_po(copy / "locale" / path)
            assert incomplete(extracted) == [], f"new strings without translations in {path}"
            committed = {entry.key for entry in read_po(LOCALE / path)}
            assert {entry.key for entry in extracted} == committed, f"{path} is out of date"


# --- The pages -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _small_keys() -> Iterator[None]:
    with allow_small_keys_for_tests():
        yield


@dataclass
class World:
    voting: Election  # open, with one question
    counting: Election  # closed, waiting for its one trustee's partial decryption
    published: Election
    voter: User


def with_one_trustee(election: Election, actor: User):
    key, shares = deal(512, 1, 1)
    public = make_public_key(str(election.id), key)
    services.set_election_key(election=election, public_file=dump_public_key(public), actor=actor)
    return public, shares


def opened(slug: str, actor: User, voters: list[User]) -> Election:
    election = Election.objects.create(slug=slug, title=f"Election {slug}")
    add_question(election, "Who should chair?", ["Ada", "Grace"], allow_blank=True)
    with_one_trustee(election, actor)
    services.open_election(election=election, actor=actor)
    for voter in voters:
        payload = make_ballot(election, voter, [1, 0, 0])
        services.cast_ballot(election=election, voter=voter, payload=payload)
    return election


@pytest.fixture
def world(admin_user, voter, make_user) -> World:
    voting = opened("spring", admin_user, [])
    counting = opened("summer", admin_user, [voter])
    services.close_election(election=counting, actor=admin_user)
    published = Election.objects.create(slug="autumn", title="Election autumn")
    add_question(published, "Who should chair?", ["Ada", "Grace"])
    public, shares = with_one_trustee(published, admin_user)
    services.open_election(election=published, actor=admin_user)
    other = make_user("otto_voter")
    services.cast_ballot(
        election=published, voter=other, payload=make_ballot(published, other, [0, 1])
    )
    services.close_election(election=published, actor=admin_user)
    tally = load_tally(services.tally_document(published))
    partial = dump_partial(partially_decrypt_tally(public, shares[0], tally))
    services.submit_partial(election=published, document=partial, actor=None)
    services.publish_with_trustees(election=published, actor=admin_user)
    return World(voting, counting, published, voter)


# Each page, and a string of it that its language must show.
PAGES = [
    ("home", {}, "Secret, verifiable online elections", False),
    ("elections:list", {}, "Open for voting", False),
    ("elections:detail", {"slug": "spring"}, "Sign in with your voter account to vote.", False),
    ("elections:board", {"slug": "summer"}, "The board at a glance", False),
    ("elections:check", {"slug": "summer"}, "Check a receipt", False),
    ("elections:audit", {"slug": "summer"}, "No ballot has been audited in this election.", False),
    ("elections:results", {"slug": "autumn"}, "Ballots cast", False),
    ("elections:verify", {"slug": "autumn"}, "Verifying without trusting this site", False),
    ("elections:trustee", {"slug": "summer"}, "Compute your partial decryption", False),
    ("login", {}, "Forgotten your password?", False),
    ("password_reset", {}, "Send the link", False),
    ("register_voter", {}, "Register as a voter", False),
    ("elections:booth", {"slug": "spring"}, "Encrypt my ballot", True),
    ("elections:receipt", {"slug": "summer"}, "Print this receipt", True),
]


def shows(page: str, text: str) -> bool:
    return text in page or html.escape(text) in page


@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_every_page_speaks_the_visitors_language(world, language):
    anonymous = Client(HTTP_ACCEPT_LANGUAGE=language)
    voter = signed_in(world.voter)
    voter.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    for name, kwargs, english, as_voter in PAGES:
        response = (voter if as_voter else anonymous).get(reverse(name, kwargs=kwargs))
        assert response.status_code == 200, name
        page = response.content.decode()
        assert f'<html lang="{language}">' in page, name
        assert response["Content-Language"] == language
        with translation.override(language):
            translated = gettext(english)
        assert language == "en" or translated != english, (language, english)
        assert shows(page, translated), (name, language, translated)


def test_numbers_and_dates_are_written_the_languages_way(world):
    results = reverse("elections:results", args=["autumn"])
    french = Client(HTTP_ACCEPT_LANGUAGE="fr").get(results).content.decode()
    german = Client(HTTP_ACCEPT_LANGUAGE="de").get(results).content.decode()
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(results).content.decode()
    # Grace has the one ballot: 100.0 % of ballots, with the decimal comma in French and German.
    assert "100,0" in french and "100,0" in german and "100.0" in english
    published = world.published.published_at
    month = published.strftime("%B")
    with translation.override("de"):
        german_month = gettext(month)
    assert german_month != month
    assert f"{published.day}. {german_month} {published.year}" in german
    assert f"{published.day} {month} {published.year}" in english


def test_the_language_cookie_wins_over_the_browser(world):
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = client.get(reverse("elections:list")).content.decode()
    assert '<html lang="fr">' in page


def test_the_switcher_keeps_the_choice_and_returns_to_the_page(db, voter):
    anonymous = Client()
    home = anonymous.get(reverse("home")).content.decode()
    assert 'action="/i18n/setlang/"' in home and 'name="language"' in home
    assert 'name="language" value="de" lang="de" class="link-button">Deutsch</button>' in home
    assert '<strong lang="en" aria-current="true">English</strong>' in home
    answer = anonymous.post(reverse("set_language"), {"language": "de", "next": "/elections/"})
    assert answer.status_code == 302 and answer["Location"] == "/elections/"
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert '<html lang="de">' in anonymous.get("/elections/").content.decode()

    client = signed_in(voter)
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    voter.refresh_from_db()
    assert voter.language == "fr"
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    voter.refresh_from_db()
    assert voter.language == "fr"  # a language the site lacks is not kept


def test_a_refusal_speaks_the_voters_language(world):
    client = signed_in(world.voter)
    cast = reverse("elections:cast", args=["summer"])
    answer = client.post(cast, b"{}", content_type="application/json", HTTP_ACCEPT_LANGUAGE="de")
    assert answer.status_code == 409
    with translation.override("de"):
        assert answer.json() == {"error": gettext("This election is not accepting ballots.")}
    assert answer.json()["error"] == "Diese Wahl nimmt keine Stimmzettel an."


# --- The administration ---------------------------------------------------------------

# The project's models in the admin index, by their list's path: English, French, German
# (\u2019 is the catalogs' typographic apostrophe).
ADMIN_MODELS = {
    "accounts/user": ("Users", "Utilisateurs", "Benutzer"),
    "accounts/auditentry": (
        "Audit entries",
        "Entrées du journal d\u2019audit",
        "Einträge im Prüfprotokoll",
    ),
    "elections/election": ("Elections", "Élections", "Wahlen"),
    "elections/question": ("Questions", "Questions", "Fragen"),
    "elections/ballot": ("Ballots", "Bulletins", "Stimmzettel"),
    "elections/encryptedtally": ("Encrypted tallies", "Totaux chiffrés", "Verschlüsselte Summen"),
    "elections/result": ("Results", "Résultats", "Ergebnisse"),
    "elections/rollentry": ("Roll entries", "Inscriptions sur la liste", "Einträge im Verzeichnis"),
    "elections/candidacyrequest": (
        "Candidacy requests",
        "Demandes de candidature",
        "Kandidaturanträge",
    ),
}
COLUMN = {"en": 0, "fr": 1, "de": 2}


@dataclass
class AdminWords:
    """The words of the ballot and election lists and the election form in one language."""

    ballots: str  # the list's name (breadcrumbs, menu)
    ballot: str  # the model's name in the list's heading
    ballot_columns: dict[str, str]
    elections: str
    election: str
    election_columns: dict[str, str]
    election_labels: set[str]


ADMIN_WORDS = {
    "fr": AdminWords(
        ballots="Bulletins",
        ballot="bulletin",
        ballot_columns={
            "sequence": "Numéro d\u2019ordre",
            "election": "Élection",
            "tracker": "Code de suivi",
            "cast_at": "Déposé le",
        },
        elections="Élections",
        election="élection",
        election_columns={
            "title": "Titre",
            "slug": "Identifiant",
            "status": "État",
            "opens_at": "Ouverture prévue",
            "closes_at": "Fermeture prévue",
        },
        election_labels={
            "Titre",
            "Identifiant",
            "Mode de la liste électorale",
            "Ouverture prévue",
            "Autoriser le remplacement du bulletin",
            "Urnes",
            "Nombre minimal de choix",
            "Autoriser le vote blanc",
        },
    ),
    "de": AdminWords(
        ballots="Stimmzettel",
        ballot="Stimmzettel",
        ballot_columns={
            "sequence": "Laufende Nummer",
            "election": "Wahl",
            "tracker": "Prüfcode",
            "cast_at": "Abgegeben am",
        },
        elections="Wahlen",
        election="Wahl",
        election_columns={
            "title": "Titel",
            "slug": "Kennung",
            "status": "Status",
            "opens_at": "Geplante Eröffnung",
            "closes_at": "Geplante Schließung",
        },
        election_labels={
            "Titel",
            "Kennung",
            "Art des Wählerverzeichnisses",
            "Geplante Eröffnung",
            "Ersetzen des Stimmzettels erlauben",
            "Urnen",
            "Mindestzahl der Auswahlen",
            "Leerstimmen erlauben",
        },
    ),
}
COLUMN_HEADER = re.compile(
    r'<th scope="col" class="[^"]*\bcolumn-(\w+)\b[^"]*">'
    r'.*?<div class="text">(?:<a [^>]*>|<span>)([^<]*)<',
    re.S,
)


def admin_in(language: str, user: User) -> Client:
    client = signed_in(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def model_links(page: str) -> dict[str, str]:
    """The admin index's links to the models' lists: path to the text shown."""
    return dict(re.findall(r'<a href="/admin/(\w+/\w+)/">([^<]*)</a>', page))


def column_headers(page: str) -> dict[str, str]:
    """A change list's column headers: field name to the text shown."""
    return dict(COLUMN_HEADER.findall(page))


def heading(page: str) -> str:
    match = re.search(r"<h1>([^<]*)</h1>", page)
    assert match is not None
    return match.group(1)


def form_labels(page: str) -> set[str]:
    return {label.strip() for label in re.findall(r"<label[^>]*>([^<]*?)\s*:?</label>", page)}


@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_the_admin_index_names_the_models_in_the_language(admin_user, language):
    page = admin_in(language, admin_user).get(reverse("admin:index")).content.decode()
    links = model_links(page)
    shown = {path: links.get(path) for path in ADMIN_MODELS}
    assert shown == {path: names[COLUMN[language]] for path, names in ADMIN_MODELS.items()}
    if language != "en":
        english = {names[0] for names in ADMIN_MODELS.values()} - set(shown.values())
        assert [name for name in english if f">{name}<" in page] == []


@pytest.mark.parametrize("language", ["fr", "de"])
def test_the_admin_lists_and_forms_name_the_fields_in_the_language(admin_user, voter, language):
    opened("summer", admin_user, [voter])  # an election with a ballot: both lists have rows
    words = ADMIN_WORDS[language]
    client = admin_in(language, admin_user)

    ballots = client.get(reverse("admin:elections_ballot_changelist")).content.decode()
    assert f"&rsaquo; {words.ballots}\n" in ballots
    assert words.ballot in heading(ballots).split()
    assert column_headers(ballots) == words.ballot_columns

    elections = client.get(reverse("admin:elections_election_changelist")).content.decode()
    assert f"&rsaquo; {words.elections}\n" in elections
    assert words.election in heading(elections).split()
    columns = column_headers(elections)
    assert {name: columns.get(name) for name in words.election_columns} == words.election_columns
    english = {"Sequence", "Tracker", "Cast at", "Title", "Slug", "Opens at", "Closes at"}
    assert english.isdisjoint({*column_headers(ballots).values(), *columns.values()})

    form = client.get(reverse("admin:elections_election_add")).content.decode()
    labels = form_labels(form)
    assert words.election_labels <= labels
    assert labels.isdisjoint({"Title", "Slug", "Roll mode", "Opens at", "Allow revoting"})


# --- The emails -------------------------------------------------------------------------


def test_an_email_is_written_in_its_recipients_language(db, make_user):
    german = make_user("greta_voter", Role.VOTER, language="de")
    unset = make_user("una_voter", Role.VOTER)
    assert recipient_language(german) == "de"
    assert recipient_language(unset) == settings.LANGUAGE_CODE
    context = {"user": german, "login_url": "https://vote.example.org/accounts/login/"}
    with translation.override("fr"):  # whatever the language of the request that sends it
        message = render_email("account_approved", recipient=german, context=context)
    assert message.subject == "Ihr Konto wurde freigegeben"
    assert "Hallo greta_voter," in message.body and "freigegeben" in message.body
    context["user"] = unset
    message = render_email("account_approved", recipient=unset, context=context)
    assert message.subject == "Your account has been approved"


def test_an_invitation_names_the_months_in_the_recipients_language(db, make_user):
    french = make_user("francine_voter", Role.VOTER, language="fr")
    election = Election.objects.create(slug="winter", title="Election winter")
    election.closes_at = election.created_at.replace(month=12, day=7, hour=14, minute=5)
    context = {
        "election": election,
        "opens_at": None,
        "closes_at": election.closes_at,
        "election_url": "https://vote.example.org/elections/winter/",
        "booth_url": "https://vote.example.org/elections/winter/booth/",
    }
    message = render_email("election_invitation", recipient=french, context=context)
    assert message.subject == "Vous êtes invité à voter : Election winter"
    assert "Il ferme le 7 décembre" in message.body
    html_body, _ = message.alternatives[0]
    assert 'lang="fr"' in str(html_body) and "Bonjour francine_voter," in str(html_body)


# --- The scripts ----------------------------------------------------------------------


def script_gettext(language: str, message: str) -> str:
    """``message`` as the scripts' catalog (the djangojs domain) translates it."""
    return DjangoTranslation(language, domain="djangojs").gettext(message)


def test_the_scripts_catalog_is_served_in_the_visitors_language(db):
    english = "Encryption ready. Make your choice, review it, then encrypt your ballot."
    answer = Client(HTTP_ACCEPT_LANGUAGE="fr").get(reverse("javascript-catalog"))
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/javascript")
    script = answer.content.decode()
    french = script_gettext("fr", english)
    assert french != english
    assert f"{json.dumps(english)}: {json.dumps(french)}" in script
    assert "globals.gettext = django.gettext" in script


def test_the_booth_loads_the_catalog_before_its_module_under_the_csp(world):
    client = signed_in(world.voter)
    answer = client.get(reverse("elections:booth", args=["spring"]))
    page = answer.content.decode()
    catalog = page.index(f'<script src="{reverse("javascript-catalog")}"></script>')
    assert catalog < page.index('<script type="module" src="/static/elections/js/booth.js">')
    script_src = re.search(r"script-src ([^;]*)", answer["Content-Security-Policy"])
    assert script_src is not None and script_src.group(1).strip() == "'self'"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_booth_speaks_french_in_the_browser(live_server, admin_user, voter, monkeypatch):
    from playwright.sync_api import sync_playwright

    from .elections.test_browser import CHROMIUM_ARGS, WATCH_CSP

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    election = opened("spring", admin_user, [])
    session = signed_in(voter).cookies[settings.SESSION_COOKIE_NAME].value
    ready = script_gettext(
        "fr", "Encryption ready. Make your choice, review it, then encrypt your ballot."
    )
    make_choice = script_gettext("fr", "Make your choice above.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(locale="fr-FR")
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
            )
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.add_init_script(WATCH_CSP)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{live_server.url}/elections/{election.slug}/booth/")
            page.get_by_text(ready).wait_for()
            assert page.locator("#selection-status").inner_text() == make_choice
            assert page.get_attribute("html", "lang") == "fr"
            assert page.evaluate("window.__cspViolations") == []
            assert errors == []
        finally:
            browser.close()
