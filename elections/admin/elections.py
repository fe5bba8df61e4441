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
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy, ngettext

from accounts.audit import log_action
from accounts.models import Role, User

from .. import roll, services
from ..forms import ElectionForm, ResetForm, RollUploadForm
from ..models import (
    PUBLISHED_IS_PERMANENT,
    Election,
)
from .common import (
    DRAFT_ONLY_FIELDS,
    ROLL_SESSION_KEY,
    TEMPLATES,
    acting_user,
)
from .dashboard import ElectionDashboard
from .questions import QuestionInline, save_ordered_formset
from .trustees import TrusteeUploads

SINGLE_KEY_DECRYPTION = gettext_lazy(
    "This election's key is a single private key file, which no page of the site accepts: "
    "decrypt it with `manage.py tally SLUG --key FILE` on the machine that holds that file."
)


@admin.register(Election)
class ElectionAdmin(TrusteeUploads, ElectionDashboard, admin.ModelAdmin[Election]):
    list_display = ("title", "slug", "status", "turnout", "opens_at", "closes_at", "dashboard")
    list_filter = ("status", "roll_mode")
    search_fields = ("title", "slug", "description")
    form = ElectionForm
    change_form_template = TEMPLATES + "change_form_dashboard.html"
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
        (gettext_lazy("Voters"), {"fields": ("roll_mode", "voter_roll")}),
        (gettext_lazy("Schedule (UTC)"), {"fields": ("opens_at", "closes_at")}),
        (gettext_lazy("Ballot box"), {"fields": ("allow_revoting", "ballot_boxes")}),
        (
            gettext_lazy("Key and history"),
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
        # Voters who voted: with revoting a voter may have several ballots on the board.
        return (
            super()
            .get_queryset(request)
            .annotate(ballots_cast=Count("ballots__voter", distinct=True))
        )

    @admin.display(description=gettext_lazy("Turnout (voters who voted)"), ordering="ballots_cast")
    def turnout(self, obj: Election) -> int:
        return int(getattr(obj, "ballots_cast", 0))

    @admin.display(description=gettext_lazy("Dashboard"))
    def dashboard(self, obj: Election) -> str:
        url = reverse("admin:elections_election_dashboard", args=[obj.pk])
        text = gettext("Steps and state of %(slug)s") % {"slug": obj.slug}
        return format_html('<a href="{}">{}</a>', url, text)

    @admin.display(description=gettext_lazy("Election id (for the trustees' ceremony)"))
    def election_id(self, obj: Election) -> str:
        return "" if obj._state.adding else str(obj.pk)

    @admin.display(description=gettext_lazy("Public key fingerprint"))
    def key_fingerprint(self, obj: Election) -> str:
        return services.public_key_fingerprint(obj) or gettext("No key yet")

    @admin.display(description=gettext_lazy("Voter roll"))
    def voter_roll(self, obj: Election) -> str:
        if obj._state.adding:
            return gettext("Save the election first.")
        entries = reverse("admin:elections_rollentry_changelist") + f"?election__id__exact={obj.pk}"
        count = obj.roll.count()
        on_roll = ngettext("%(count)d voter on the roll", "%(count)d voters on the roll", count) % {
            "count": count
        }
        links = format_html('<a href="{}">{}</a>', entries, on_roll)
        if obj.is_draft:
            upload = reverse("admin:elections_election_import_voters", args=[obj.pk])
            links += format_html(
                ' · <a href="{}">{}</a>', upload, gettext("Import voters from CSV")
            )
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
                request, gettext("Select exactly one election for this action."), messages.WARNING
            )
            return None
        return queryset.get()

    def run_for_each(
        self, request: HttpRequest, queryset: QuerySet[Election], operation: Any, done: Any
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
            self.message_user(request, done(count) % {"count": count}, messages.SUCCESS)

    # --- Actions -----------------------------------------------------------------

    def phase_action(
        self,
        request: HttpRequest,
        queryset: QuerySet[Election],
        title: str,
        consequence: str,
        operation: Any,
        done: Any,
    ) -> TemplateResponse | None:
        """Confirm first, then run ``operation`` on each selected election."""
        if request.POST.get("post") != "yes":
            return self.confirmation(
                request, "confirm_phase.html", queryset, title, consequence=consequence
            )
        self.run_for_each(request, queryset, operation, done)
        return None

    @admin.action(description=gettext_lazy("Open selected elections"), permissions=["manage"])
    def open_selected(
        self, request: HttpRequest, queryset: QuerySet[Election]
    ) -> TemplateResponse | None:
        return self.phase_action(
            request,
            queryset,
            gettext("Open elections?"),
            gettext(
                "Voters can cast ballots from now on (within the schedule). The "
                "questions, options, rules and voter roll can no longer change."
            ),
            services.open_election,
            lambda count: ngettext(
                "Opened %(count)d election.", "Opened %(count)d elections.", count
            ),
        )

    @admin.action(description=gettext_lazy("Close selected elections"), permissions=["manage"])
    def close_selected(
        self, request: HttpRequest, queryset: QuerySet[Election]
    ) -> TemplateResponse | None:
        return self.phase_action(
            request,
            queryset,
            gettext("Close elections?"),
            gettext("No more ballots will be accepted. This cannot be undone."),
            services.close_election,
            lambda count: ngettext(
                "Closed %(count)d election.", "Closed %(count)d elections.", count
            ),
        )

    @admin.action(
        description=gettext_lazy("Generate keys (ceremony in your browser)"), permissions=["manage"]
    )
    def generate_keys(
        self, request: HttpRequest, queryset: QuerySet[Election]
    ) -> HttpResponse | None:
        # The key is made in the administrator's browser, never in this process: the
        # action only leads to the ceremony page, which posts nothing but public.json.
        election = self.single(request, queryset)
        if election is None:
            return None
        if not election.is_draft:
            self.message_user(
                request, gettext("Keys can only be generated for a draft."), messages.ERROR
            )
            return None
        return redirect("admin:elections_election_trustee_key", election.pk)

    @admin.action(
        description=gettext_lazy("Decrypt and publish the result"), permissions=["manage"]
    )
    def decrypt_and_publish(
        self, request: HttpRequest, queryset: QuerySet[Election]
    ) -> HttpResponse | None:
        election = self.single(request, queryset)
        if election is None:
            return None
        if not election.has_trustees:
            # No page of the site accepts a private key: such an election (keyed with
            # a single private key file) is decrypted where that file is.
            self.message_user(request, SINGLE_KEY_DECRYPTION, messages.ERROR)
            return None
        return redirect("admin:elections_election_publish_trustees", election.pk)

    @admin.action(
        description=gettext_lazy("Reset to draft (deletes ballots)"), permissions=["manage"]
    )
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
                gettext("Reset %(election)s?") % {"election": election},
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
            ngettext(
                "Reset 1 election (%(slug)s); deleted %(ballots)d ballot.",
                "Reset 1 election (%(slug)s); deleted %(ballots)d ballots.",
                ballots,
            )
            % {"slug": election.slug, "ballots": ballots},
            messages.SUCCESS,
        )
        return None

    @admin.action(description=gettext_lazy("Copy as a new draft"), permissions=["manage"])
    def copy_as_draft(self, request: HttpRequest, queryset: QuerySet[Election]) -> None:
        election = self.single(request, queryset)
        if election is None:
            return
        copy = services.copy_as_draft(election=election, actor=acting_user(request))
        self.message_user(
            request,
            gettext("Copied %(source)s as the draft %(slug)s; check its schedule and key.")
            % {"source": election.slug, "slug": copy.slug},
            messages.SUCCESS,
        )

    # --- Views with uploads ------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/import-voters/",
                wrap(self.import_voters_view),
                name="elections_election_import_voters",
            ),
            *self.trustee_urls(),
            *self.dashboard_urls(),
            *super().get_urls(),
        ]

    def managed_election(self, request: HttpRequest, object_id: str) -> Election:
        if not self.has_manage_permission(request):
            raise PermissionDenied(
                gettext("Only administrators who may change elections can do this.")
            )
        election = self.get_object(request, object_id)
        if election is None:
            raise Http404(gettext("No such election."))
        return election

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
                error=gettext("Nothing to import: upload and preview the file again."),
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
            ngettext(
                "Imported %(count)d voter onto the roll (%(new)d new, %(sent)d emailed).",
                "Imported %(count)d voters onto the roll (%(new)d new, %(sent)d emailed).",
                len(report.created) + len(report.attached),
            )
            % {
                "count": len(report.created) + len(report.attached),
                "new": len(report.created),
                "sent": report.invited,
            },
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
            gettext("Import voters into %(election)s") % {"election": election},
            status=status,
            election=election,
            form=form,
            report=report,
            digest=pending.get("digest", "") if report is not None and report.ok else "",
            error=error,
        )
