"""No endpoint of the site takes a private key or a trustee's share.

Every URL the site routes (its own pages, the admin's, the accounts'), filled in
with a draft and a closed trustee election, is posted a trustee's share file, sealed
and plain, and a single private key file: as a file under every upload field name
the site uses, as a form field and as a raw JSON body, signed in as a superuser. None
of it may be stored anywhere in the database (every text column of every table is
searched), nothing may be decrypted or published, and no request may fail with a 500.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from elections import services
from elections.crypto.encoding import int_to_hex
from elections.models import Result, Status, TrusteeDecryption
from elections.trustee.files import dump_share

from .conftest import TEST_KEY_BITS
from .test_trustees import closed_two_of_three  # noqa: F401 (fixture)

UPLOAD_FIELDS = ("public_file", "partial_file", "key_file", "csv_file", "file", "roll")


def route_names(patterns: list[Any], namespace: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from route_names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name


def every_url(slugs: list[str], pks: list[int]) -> list[str]:
    urls: set[str] = set()
    candidates: list[dict[str, str]] = [{}]
    candidates += [{"slug": slug} for slug in slugs]
    candidates += [{"object_id": str(pk)} for pk in pks]
    candidates += [{"app_label": "elections"}, {"uidb64": "MQ", "token": "set-password"}]
    for name in set(route_names(get_resolver().url_patterns)):
        for kwargs in candidates:
            try:
                urls.add(reverse(name, kwargs=kwargs))
            except NoReverseMatch:
                continue
    return sorted(urls)


def stored_text() -> str:
    """Every column of every row of every model, as text."""
    parts: list[str] = []
    for model in apps.get_models():
        for row in model._default_manager.values():
            parts.extend(str(value) for value in row.values())
    return "\n".join(parts)


@pytest.mark.slow
def test_no_endpoint_stores_a_share_or_a_private_key(
    closed_two_of_three,  # noqa: F811
    make_election,
    admin_user,
):
    world = closed_two_of_three
    draft = make_election("keyless-draft")
    plain = dump_share(world.public, world.shares[0], passphrase=None)
    sealed = dump_share(world.public, world.shares[1], passphrase="a long passphrase here")
    other = make_election("single-key")
    key_file = services.generate_keys(election=other, actor=None, bits=TEST_KEY_BITS)
    private = json.loads(key_file)
    secrets = [
        int_to_hex(world.shares[0].share),
        json.loads(sealed)["ciphertext"][:64],
        private["p"],
        private["q"],
    ]
    documents = {"share": plain, "sealed share": sealed, "private key": key_file}
    results_before = Result.objects.count()
    client = Client()
    client.force_login(admin_user, backend="django.contrib.auth.backends.ModelBackend")
    urls = every_url([world.election.slug, draft.slug], [world.election.pk, draft.pk])
    assert len(urls) > 60  # the sweep really covers the site and the admin
    for url in urls:
        for what, data in documents.items():
            uploads = {name: SimpleUploadedFile(f"{name}.json", data) for name in UPLOAD_FIELDS}
            answers = [
                client.post(url, {**uploads, "post": "yes", "confirm": "yes"}),
                client.post(url, {"key": data.decode(), "share": data.decode()}),
                client.post(url, data, content_type="application/json"),
            ]
            for answer in answers:
                assert answer.status_code < 500, (url, what, answer.status_code)
    stored = stored_text()
    for secret in secrets:
        assert secret not in stored
    world.election.refresh_from_db()
    draft.refresh_from_db()
    assert world.election.status == Status.CLOSED and not TrusteeDecryption.objects.exists()
    assert Result.objects.count() == results_before
    assert not draft.public_key and not draft.trustee_key
    assert str(world.shares[0].share) not in stored  # nor in decimal
