"""The trustee page: a trustee decrypts the closed election's totals in their browser.

The page gives the trustee the election's ``tally.json`` and a Web Worker
(``trustee-worker.js``) that opens the share file they select, with their
passphrase, and computes the partial decryption and its proofs. The share and
the passphrase stay in that browser; only the partial decryption file is
posted here, as JSON, and ``services.submit_partial`` stores it only if every
proof holds for this election's current totals.

No sign-in: the proofs decide, not the sender (only the holder of a share can
make a partial decryption that verifies). Attempts are counted per address
before any proof is checked, so a stream of bogus files costs little.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from accounts import throttle
from accounts.network import client_ip

from . import services
from .crypto.encoding import hex_len
from .decorators import content_length, election_view, json_body_only, refusal, security_log
from .models import Election, Status
from .trustee.files import MAX_PARTIAL_BYTES

NOT_CLOSED = gettext_lazy(
    "Trustees decrypt once the election is closed, until its results are published."
)
NO_TRUSTEES = gettext_lazy("This election has no trustees: its key is a single private key file.")
# A trustee needs one attempt, a few with typing mistakes in the file choice.
ATTEMPTS_PER_WINDOW = 10
ATTEMPT_WINDOW = 600


def partial_size_limit(election: Election) -> int:
    """The largest partial decryption file of this election: three numbers per slot."""
    params = services.election_params(election)
    per_slot = 3 * hex_len(params.n * params.n) + 128
    return min(MAX_PARTIAL_BYTES, params.slot_count * per_slot + 4096)


@require_safe
@never_cache
@election_view(Status.CLOSED, Status.PUBLISHED, refused=NOT_CLOSED)
def trustee_page(request: HttpRequest, election: Election) -> HttpResponse:
    if not election.has_trustees:
        return refusal(request, 409, NO_TRUSTEES, as_json=False)
    key = services.trustee_public_key(election).key
    submitted = sorted(election.trustee_decryptions.values_list("trustee", flat=True))
    return render(
        request,
        "elections/trustee.html",
        {
            "election": election,
            "threshold": key.threshold,
            "trustees": key.trustees,
            "submitted": submitted,
            "public_key": election.trustee_key,
            "open": election.status == Status.CLOSED,
        },
    )


@require_POST
@election_view(Status.CLOSED, refused=NOT_CLOSED, as_json=True)
@json_body_only(gettext_lazy("A partial decryption"))
def submit_partial(request: HttpRequest, election: Election) -> HttpResponse:
    if not election.has_trustees:
        return refusal(request, 409, NO_TRUSTEES, as_json=True)
    limit = partial_size_limit(election)
    if not 0 <= content_length(request) <= limit:
        message = gettext("A partial decryption of this election has at most %(limit)d bytes.") % {
            "limit": limit
        }
        return refusal(request, 413, message, as_json=True)
    ip = client_ip(request)
    attempts = throttle.count_attempt(f"trustee-partial:{ip}", window=ATTEMPT_WINDOW)
    if attempts > ATTEMPTS_PER_WINDOW:
        message = gettext(
            "Too many partial decryptions from this address; try again in ten minutes."
        )
        return refusal(request, 429, message, as_json=True)
    try:
        checked = services.submit_partial(election=election, document=request.body, actor=None)
    except services.ElectionError as error:
        security_log.info(
            "partial decryption refused: election=%s status=%s ip=%s",
            election.slug,
            error.status_code,
            ip,
        )
        return JsonResponse({"error": str(error)}, status=error.status_code)
    stored = election.trustee_decryptions.count()
    key = services.trustee_public_key(election).key
    return JsonResponse(
        {"trustee": checked.trustee, "stored": stored, "threshold": key.threshold}, status=201
    )
