"""The page that verifies a published election in the visitor's browser.

The page streams the election record (``record.json``) into a Web Worker that
runs the checks of the reference verifier (``python -m elections.verify``,
docs/election-record.md) with the same failure names: nothing to install,
nothing but the site's own scripts under its Content-Security-Policy. It
shows the verdict, the board's hashes from the record and the results, and
finds a ballot on the board by its tracker.

What it does not protect against: the scripts come from this site, so a
server that serves an altered record could serve an altered verifier too. The
page says so, and points to the record download and the reference verifier for
anyone who wants to check without trusting the site.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from .crypto.keys import minimum_key_bits
from .decorators import election_view
from .models import Election, Status

NOT_PUBLISHED = gettext_lazy("An election can be verified here once its results are published.")


@require_safe
@election_view(Status.PUBLISHED, refused=NOT_PUBLISHED)
def verify_page(request: HttpRequest, election: Election) -> HttpResponse:
    config = {
        "record": reverse("elections:record_json", args=[election.slug]),
        "worker": static("elections/js/verify-worker.js"),
        # The reference verifier's key floor: 2048 bits, lower only under the test suite.
        "min_key_bits": minimum_key_bits(),
    }
    context = {"election": election, "verifier": config}
    return render(request, "elections/verify.html", context)
