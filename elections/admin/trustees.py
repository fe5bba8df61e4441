"""The trustees' pages: their public key for a draft, their partial decryptions once
closed, and the publication that combines K of those partial decryptions.

Both files are read in memory only (never spooled to disk), each capped at the
largest valid file of its kind, and handed to the services, which refuse a
trustee's share file by what it is. No page here accepts a share.
"""

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from elections.trustee.cli import MIN_PASSPHRASE_LENGTH

from .. import crypto, services
from ..decorators import content_length
from ..forms import KEY_SIZES, PartialDecryptionForm, TrusteeFileForm, TrusteeKeyForm
from ..models import Election
from .common import CappedMemoryUploadHandler, acting_user, result_rows

# Room for the multipart framing around the file.
UPLOAD_OVERHEAD = 16 * 1024


class TrusteeUploads(admin.ModelAdmin[Election]):
    """The trustees' pages of ``ElectionAdmin``, which supplies the two methods below."""

    def managed_election(self, request: HttpRequest, object_id: str) -> Election:
        raise NotImplementedError

    def confirmation(
        self,
        request: HttpRequest,
        template: str,
        queryset: Any,
        title: str,
        status: int = 200,
        **context: Any,
    ) -> TemplateResponse:
        raise NotImplementedError

    def trustee_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/trustee-key/",
                wrap(csrf_exempt(self.trustee_key_view)),
                name="elections_election_trustee_key",
            ),
            path(
                "<path:object_id>/partial-decryption/",
                wrap(csrf_exempt(self.partial_view)),
                name="elections_election_partial",
            ),
            path(
                "<path:object_id>/publish-with-trustees/",
                wrap(self.publish_trustees_view),
                name="elections_election_publish_trustees",
            ),
        ]

    # The upload handler must be in place before anything reads the body, the CSRF
    # check included: hence csrf_exempt on the URL and csrf_protect inside.
    def trustee_key_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        limit = TrusteeKeyForm.max_bytes + UPLOAD_OVERHEAD
        request.upload_handlers = [CappedMemoryUploadHandler(request, limit)]
        return self.trustee_upload(
            request,
            object_id,
            TrusteeKeyForm,
            "trustee_key.html",
            gettext_lazy("Set the trustees' key of %(election)s"),
        )

    def partial_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        limit = PartialDecryptionForm.max_bytes + UPLOAD_OVERHEAD
        request.upload_handlers = [CappedMemoryUploadHandler(request, limit)]
        return self.trustee_upload(
            request,
            object_id,
            PartialDecryptionForm,
            "partial_decryption.html",
            gettext_lazy("Submit a partial decryption for %(election)s"),
        )

    @method_decorator(csrf_protect)
    def trustee_upload(
        self,
        request: HttpRequest,
        object_id: str,
        form_class: type[TrusteeFileForm],
        template: str,
        title: Any,
    ) -> HttpResponse:
        election = self.managed_election(request, object_id)
        form, status, error = form_class(), 200, ""
        if request.method == "POST":
            if not 0 <= content_length(request) <= form_class.max_bytes + UPLOAD_OVERHEAD:
                status, error = 413, gettext("The upload is too large for this kind of file.")
            else:
                form = form_class(request.POST, request.FILES)
                status = 400
                if form.is_valid():
                    try:
                        done = self.store_upload(request, election, form)
                    except services.ElectionError as refusal:
                        form.add_error(None, str(refusal))
                        status = refusal.status_code
                    else:
                        self.message_user(request, done, messages.SUCCESS)
                        return HttpResponseRedirect(
                            reverse("admin:elections_election_change", args=[election.pk])
                        )
        return self.confirmation(
            request,
            template,
            Election.objects.filter(pk=election.pk),
            str(title) % {"election": election},
            status=status,
            election=election,
            form=form,
            error=error,
            **(self.ceremony_context(election) if form_class is TrusteeKeyForm else {}),
        )

    def ceremony_context(self, election: Election) -> dict[str, Any]:
        """What the in-browser ceremony on the key page needs: sizes, defaults, the rules."""
        smallest = crypto.minimum_key_bits()
        return {
            "key_fingerprint": services.public_key_fingerprint(election),
            "key_sizes": sorted({smallest, *(b for b in KEY_SIZES if b >= smallest)}),
            "default_bits": crypto.DEFAULT_KEY_BITS,
            "default_trustees": 1,
            "default_threshold": 1,
            "min_passphrase": MIN_PASSPHRASE_LENGTH,
        }

    def store_upload(self, request: HttpRequest, election: Election, form: TrusteeFileForm) -> str:
        data = form.cleaned_data[form.field_name]
        if isinstance(form, TrusteeKeyForm):
            public = services.set_election_key(
                election=election, public_file=data, actor=acting_user(request)
            )
            return gettext(
                "Set the trustees' key of 1 election (%(slug)s): any "
                "%(threshold)d of %(trustees)d trustees decrypt."
            ) % {
                "slug": election.slug,
                "threshold": public.key.threshold,
                "trustees": public.key.trustees,
            }
        partial = services.submit_partial(
            election=election, document=data, actor=acting_user(request)
        )
        stored = election.trustee_decryptions.count()
        return gettext(
            "Stored 1 partial decryption (trustee %(trustee)d) for %(slug)s; "
            "%(stored)d stored so far."
        ) % {"trustee": partial.trustee, "slug": election.slug, "stored": stored}

    def publish_trustees_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        election = self.managed_election(request, object_id)
        if not election.has_trustees:
            return redirect("admin:elections_election_change", election.pk)
        report, status, error = None, 200, ""
        if request.method == "POST":
            try:
                report = services.publish_with_trustees(
                    election=election, actor=acting_user(request)
                )
            except services.ElectionError as refusal:
                status, error = refusal.status_code, str(refusal)
            else:
                self.message_user(
                    request,
                    ngettext(
                        "Published 1 election (%(slug)s) from the trustees' partial "
                        "decryptions: %(ballots)d ballot.",
                        "Published 1 election (%(slug)s) from the trustees' partial "
                        "decryptions: %(ballots)d ballots.",
                        report.ballots,
                    )
                    % {"slug": election.slug, "ballots": report.ballots},
                    messages.SUCCESS,
                )
        return self.confirmation(
            request,
            "publish_trustees.html",
            Election.objects.filter(pk=election.pk),
            gettext("Publish %(election)s with the trustees' partial decryptions")
            % {"election": election},
            status=status,
            election=election,
            report=report,
            rows=result_rows(report) if report is not None else [],
            error=error,
            **self.trustee_progress(election),
        )

    def trustee_progress(self, election: Election) -> dict[str, Any]:
        """Who has submitted a partial decryption, who has not, and K of N."""
        submitted = list(
            election.trustee_decryptions.order_by("trustee").values_list("trustee", flat=True)
        )
        key = services.trustee_public_key(election).key
        return {
            "submitted": submitted,
            "absent": [i for i in range(1, key.trustees + 1) if i not in submitted],
            "threshold": key.threshold,
            "trustees": key.trustees,
        }
