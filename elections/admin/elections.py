"""Election administration: the election pages, their actions and confirmation pages.

Irreversible steps (keys, opening, closing, decryption, reset, roll import) are
admin actions or views in the manner of Django's ``delete_selected``: a declared
permission, a confirmation page, a message with a count, and an audit entry
written by the service that does the work. Ballots, tallies and results are
read-only here: the only way to change them is through the services.
"""

import hashlib
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from accounts.audit import log_action
from accounts.models import Role, User

from .. import roll, services
from ..decorators import content_length
from ..forms import (
    MAX_KEY_UPLOAD_BYTES,
    DecryptForm,
    ElectionForm,
    GenerateKeysForm,
    ResetForm,
    RollUploadForm,
)
from ..models import (
    PUBLISHED_IS_PERMANENT,
    Election,
)
from .common import (
    DRAFT_ONLY_FIELDS,
    ROLL_SESSION_KEY,
    TEMPLATES,
    CappedMemoryUploadHandler,
    acting_user,
    result_rows,
)
from .questions import QuestionInline, save_ordered_formset
from .trustees import TrusteeUploads


@admin.register(Election)
class ElectionAdmin(TrusteeUploads, admin.ModelAdmin[Election]):
    list_display = ("title", "slug", "status", "turnout", "opens_at", "closes_at")
    list_filter = ("status", "roll_mode")
    search_fields = ("title", "slug", "description")
    form = ElectionForm
    inlines = [QuestionInline]
    actions = [
        "generate_keys",
        "open_selected",
        "close_selected",
        "decrypt_and_publish",
        "reset_election",
        "copy_as_draft",
    ]
    fieldsets = (
        (None, {"fields": ("title", "slug", "description", "status")}),
        ("Voters", {"fields": ("roll_mode", "voter_roll")}),
        ("Schedule (UTC)", {"fields": ("opens_at", "closes_at")}),
        (
            "Key and history",
            {
                "fields": (
                    "election_id",
                    "key_fingerprint",
                    "opened_at",
                    "closed_at",
                    "published_at",
                )
            },
        ),
    )

    # --- Lists and forms -----------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Election]:
        return super().get_queryset(request).annotate(ballots_cast=Count("ballots"))

    @admin.display(description="Turnout (ballots cast)", ordering="ballots_cast")
    def turnout(self, obj: Election) -> int:
        return int(getattr(obj, "ballots_cast", 0))

    @admin.display(description="Election id (for the trustees' ceremony)")
    def election_id(self, obj: Election) -> str:
        return "" if obj._state.adding else str(obj.pk)

    @admin.display(description="Public key fingerprint")
    def key_fingerprint(self, obj: Election) -> str:
        return services.public_key_fingerprint(obj) or "No key yet"

    @admin.display(description="Voter roll")
    def voter_roll(self, obj: Election) -> str:
        if obj._state.adding:
            return "Save the election first."
        entries = reverse("admin:elections_rollentry_changelist") + f"?election__id__exact={obj.pk}"
        links = format_html('<a href="{}">{} voter(s) on the roll</a>', entries, obj.roll.count())
        if obj.is_draft:
            upload = reverse("admin:elections_election_import_voters", args=[obj.pk])
            links += format_html(' · <a href="{}">Import voters from CSV</a>', upload)
        return links

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        always = (
            "status",
            "voter_roll",
            "election_id",
            "key_fingerprint",
            "opened_at",
            "closed_at",
            "published_at",
        )
        if obj is not None and not obj.is_draft:
            return always + DRAFT_ONLY_FIELDS
        return always

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return {"slug": ("title",)} if obj is None else {}

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only drafts can go: an election that ever opened has a board to keep.
        return super().has_delete_permission(request, obj) and (obj is None or obj.is_draft)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        election = self.get_object(request, object_id)
        if election is not None and election.is_published:
            self.message_user(request, f"{election.slug}: {PUBLISHED_IS_PERMANENT}", messages.ERROR)
            return redirect("admin:elections_election_change", election.pk)
        return super().delete_view(request, object_id, extra_context)

    def save_model(self, request: HttpRequest, obj: Election, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        log_action(
            actor=acting_user(request),
            action="elections.election.changed" if change else "elections.election.created",
            target=obj,
            data={"fields": sorted(form.changed_data)},
        )

    def save_formset(
        self,
        request: HttpRequest,
        form: Any,
        formset: BaseInlineFormSet[Any, Any, Any],
        change: bool,
    ) -> None:
        save_ordered_formset(request, formset, form.instance)

    @method_decorator(sensitive_post_parameters("passphrase", "passphrase_again"))
    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().changelist_view(request, extra_context)

    # --- Permissions and confirmation pages ------------------------------------

    def has_manage_permission(self, request: HttpRequest) -> bool:
        """Running an election: approved administrators with the change permission."""
        user = request.user
        return (
            isinstance(user, User)
            and user.is_active
            and user.role == Role.ADMINISTRATOR
            and user.is_approved
            and self.has_change_permission(request)
        )

    def confirmation(
        self,
        request: HttpRequest,
        template: str,
        queryset: QuerySet[Election],
        title: str,
        status: int = 200,
        **context: Any,
    ) -> TemplateResponse:
        return TemplateResponse(
            request,
            TEMPLATES + template,
            {
                **self.admin_site.each_context(request),
                "title": title,
                "queryset": queryset,
                "opts": self.model._meta,
                "action": request.POST.get("action", ""),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
                **context,
            },
            status=status,
        )

    def single(self, request: HttpRequest, queryset: QuerySet[Election]) -> Election | None:
        if queryset.count() != 1:
            self.message_user(
                request, "Select exactly one election for this action.", messages.WARNING
            )
            return None
        return queryset.get()

    def run_for_each(
        self, request: HttpRequest, queryset: QuerySet[Election], operation: Any, done: str
    ) -> None:
        count = 0
        for election in queryset:
            try:
                operation(election=election, actor=acting_user(request))
            except services.ElectionError as error:
                self.message_user(request, f"{election.slug}: {error}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, f"{done} {count} election(s).", messages.SUCCESS)

    # --- Actions -----------------------------------------------------------------

    def phase_action(
        self,
        request: HttpRequest,
        queryset: QuerySet[Election],
        title: str,
        consequence: str,
        operation: Any,
        done: str,
    ) -> TemplateResponse | None:
        """Confirm first, then run ``operation`` on each selected election."""
        if request.POST.get("post") != "yes":
            return self.confirmation(
                request, "confirm_phase.html", queryset, title, consequence=consequence
            )
        self.run_for_each(request, queryset, operation, done)
        return None

    @admin.action(description="Open selected elections", permissions=["manage"])
    def open_selected(
        self, request: HttpRequest, queryset: QuerySet[Election]
    ) -> TemplateResponse | None:
        return self.phase_action(
            request,
            queryset,
            "Open elections?",
            "Voters can cast ballots from now on (within the schedule). The "
            "questions, options, rules and voter roll can no longer change.",
            services.open_election,
            "Opened",
        )

    @admin.action(description="Close selected elections", permissions=["manage"])
    def close_selected(
        self, request: HttpRequest, queryset: QuerySet[Election]
    ) -> TemplateResponse | None:
        return self.phase_action(
            request,
            queryset,
            "Close elections?",
            "No more ballots will be accepted. This cannot be undone.",
            services.close_election,
            "Closed",
        )

    @admin.action(description="Generate keys (downloads the private key)", permissions=["manage"])
    def generate_keys(
        self, request: HttpRequest, queryset: QuerySet[Election]
    ) -> HttpResponse | None:
        election = self.single(request, queryset)
        if election is None:
            return None
        if not election.is_draft:
            self.message_user(request, "Keys can only be generated for a draft.", messages.ERROR)
            return None
        form = GenerateKeysForm(request.POST if request.POST.get("post") == "yes" else None)
        if not form.is_valid():
            return self.confirmation(
                request,
                "generate_keys.html",
                queryset,
                f"Generate the keys of {election}",
                status=400 if form.is_bound else 200,
                election=election,
                form=form,
            )
        try:
            key_file = services.generate_keys(
                election=election,
                actor=acting_user(request),
                bits=form.cleaned_data["bits"],
                passphrase=form.cleaned_data["passphrase"] or None,
            )
        except services.ElectionError as error:
            self.message_user(request, str(error), messages.ERROR)
            return None
        response = HttpResponse(key_file, content_type="application/json")
        response["Content-Disposition"] = (
            f'attachment; filename="election-{election.slug}.key.json"'
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Decrypt and publish the result", permissions=["manage"])
    def decrypt_and_publish(
        self, request: HttpRequest, queryset: QuerySet[Election]
    ) -> HttpResponse | None:
        election = self.single(request, queryset)
        if election is None:
            return None
        if election.has_trustees:
            return redirect("admin:elections_election_publish_trustees", election.pk)
        # The key arrives as an upload, which needs its own view (see decrypt_view).
        return redirect("admin:elections_election_decrypt", election.pk)

    @admin.action(description="Reset to draft (deletes ballots)", permissions=["manage"])
    def reset_election(
        self, request: HttpRequest, queryset: QuerySet[Election]
    ) -> TemplateResponse | None:
        election = self.single(request, queryset)
        if election is None:
            return None
        if election.is_published:
            self.message_user(request, PUBLISHED_IS_PERMANENT, messages.ERROR)
            return None
        form = ResetForm(
            request.POST if request.POST.get("post") == "yes" else None, slug=election.slug
        )
        if not form.is_valid():
            return self.confirmation(
                request,
                "reset.html",
                queryset,
                f"Reset {election}?",
                status=400 if form.is_bound else 200,
                election=election,
                form=form,
                ballots=election.ballots.count(),
            )
        try:
            ballots = services.reset_election(election=election, actor=acting_user(request))
        except services.ElectionError as error:
            self.message_user(request, str(error), messages.ERROR)
            return None
        self.message_user(
            request,
            f"Reset 1 election ({election.slug}); deleted {ballots} ballot(s).",
            messages.SUCCESS,
        )
        return None

    @admin.action(description="Copy as a new draft", permissions=["manage"])
    def copy_as_draft(self, request: HttpRequest, queryset: QuerySet[Election]) -> None:
        election = self.single(request, queryset)
        if election is None:
            return
        copy = services.copy_as_draft(election=election, actor=acting_user(request))
        self.message_user(
            request,
            f"Copied {election.slug} as the draft {copy.slug}; check its schedule and key.",
            messages.SUCCESS,
        )

    # --- Views with uploads ------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/decrypt/",
                wrap(csrf_exempt(self.decrypt_view)),
                name="elections_election_decrypt",
            ),
            path(
                "<path:object_id>/import-voters/",
                wrap(self.import_voters_view),
                name="elections_election_import_voters",
            ),
            *self.trustee_urls(),
            *super().get_urls(),
        ]

    def managed_election(self, request: HttpRequest, object_id: str) -> Election:
        if not self.has_manage_permission(request):
            raise PermissionDenied("Only administrators who may change elections can do this.")
        election = self.get_object(request, object_id)
        if election is None:
            raise Http404("No such election.")
        return election

    def decrypt_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        # Replacing the upload handlers must happen before anything reads the body,
        # including the CSRF check, hence csrf_exempt outside and csrf_protect inside.
        request.upload_handlers = [CappedMemoryUploadHandler(request, MAX_KEY_UPLOAD_BYTES)]
        return self.decrypt_protected(request, object_id)

    @method_decorator(csrf_protect)
    @method_decorator(sensitive_post_parameters("passphrase"))
    def decrypt_protected(self, request: HttpRequest, object_id: str) -> HttpResponse:
        election = self.managed_election(request, object_id)
        if election.has_trustees:
            # No private key exists for it: the trustees' partial decryptions replace it.
            return redirect("admin:elections_election_publish_trustees", election.pk)
        form, report, status = DecryptForm(), None, 200
        if request.method == "POST":
            if not 0 <= content_length(request) <= MAX_KEY_UPLOAD_BYTES:
                return self.decrypt_page(
                    request,
                    election,
                    form,
                    None,
                    413,
                    error="The upload is too large to be a key file, or its length is invalid.",
                )
            form = DecryptForm(request.POST, request.FILES)
            status = 400
            if form.is_valid():
                try:
                    report = services.decrypt_tally(
                        election=election,
                        key_file=form.cleaned_data["key_file"],
                        passphrase=form.cleaned_data["passphrase"] or None,
                        actor=acting_user(request),
                    )
                except services.ElectionError as error:
                    form.add_error(None, str(error))
                    status = error.status_code
                else:
                    status = 200
                    self.message_user(
                        request,
                        f"Decrypted 1 election ({election.slug}): {report.ballots} ballot(s).",
                        messages.SUCCESS,
                    )
        return self.decrypt_page(request, election, form, report, status)

    def decrypt_page(
        self,
        request: HttpRequest,
        election: Election,
        form: DecryptForm,
        report: services.TallyReport | None,
        status: int,
        error: str = "",
    ) -> TemplateResponse:
        return self.confirmation(
            request,
            "decrypt.html",
            Election.objects.filter(pk=election.pk),
            f"Decrypt and publish {election}",
            status=status,
            election=election,
            form=form,
            report=report,
            rows=result_rows(report) if report is not None else [],
            error=error,
        )

    def import_voters_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        election = self.managed_election(request, object_id)
        if request.method == "POST" and "confirm" in request.POST:
            return self.import_confirm(request, election)
        form, report, status = RollUploadForm(), None, 200
        if request.method == "POST":
            form = RollUploadForm(request.POST, request.FILES)
            status = 400
            if form.is_valid():
                report, status = self.import_preview(
                    request, election, form.cleaned_data["csv_file"]
                )
        return self.import_page(request, election, form, report, status)

    def import_preview(
        self, request: HttpRequest, election: Election, data: bytes
    ) -> tuple[roll.ImportReport, int]:
        try:
            report = roll.import_voters(
                election=election, csv_text=data, actor=acting_user(request), dry_run=True
            )
        except services.ElectionError as error:
            report = roll.ImportReport(dry_run=True, errors=[roll.RowError(0, str(error))])
            return report, error.status_code
        if not report.ok:
            return report, 400
        # The previewed file waits in the session, so the import is exactly what was shown.
        request.session[ROLL_SESSION_KEY] = {
            "election": str(election.pk),
            "digest": hashlib.sha256(data).hexdigest(),
            "data": data.decode("utf-8-sig"),
        }
        return report, 200

    def import_confirm(self, request: HttpRequest, election: Election) -> HttpResponse:
        pending = request.session.get(ROLL_SESSION_KEY) or {}
        if pending.get("election") != str(election.pk) or pending.get("digest") != request.POST.get(
            "confirm"
        ):
            return self.import_page(
                request,
                election,
                RollUploadForm(),
                None,
                400,
                error="Nothing to import: upload and preview the file again.",
            )
        try:
            report = roll.import_voters(
                election=election,
                csv_text=pending["data"],
                actor=acting_user(request),
                dry_run=False,
                site_url=request.build_absolute_uri("/"),
            )
        except services.ElectionError as error:
            return self.import_page(
                request, election, RollUploadForm(), None, error.status_code, error=str(error)
            )
        del request.session[ROLL_SESSION_KEY]
        if not report.ok:
            return self.import_page(request, election, RollUploadForm(), report, 400)
        self.message_user(
            request,
            f"Imported {len(report.created) + len(report.attached)} voter(s) onto the roll "
            f"({len(report.created)} new account(s), {report.invited} email(s) sent).",
            messages.SUCCESS,
        )
        if report.mail_error:
            self.message_user(request, report.mail_error, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:elections_election_change", args=[election.pk]))

    def import_page(
        self,
        request: HttpRequest,
        election: Election,
        form: RollUploadForm,
        report: roll.ImportReport | None,
        status: int,
        error: str = "",
    ) -> TemplateResponse:
        pending = request.session.get(ROLL_SESSION_KEY) or {}
        return self.confirmation(
            request,
            "import_voters.html",
            Election.objects.filter(pk=election.pk),
            f"Import voters into {election}",
            status=status,
            election=election,
            form=form,
            report=report,
            digest=pending.get("digest", "") if report is not None and report.ok else "",
            error=error,
        )
