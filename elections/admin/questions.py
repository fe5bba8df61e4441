"""Questions and their options: edited inline, numbered automatically, only in a draft.

Positions are sort keys: leave one blank to append, type numbers to reorder;
after saving, the questions (or options) are renumbered 1, 2, 3... in that
order by ``services.save_in_order``.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.forms import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy

from accounts.audit import log_action

from .. import services
from ..crypto.params import MAX_OPTIONS_PER_QUESTION, MAX_QUESTIONS
from ..forms import CandidateForm, NormalisedLabels
from ..models import Candidate, Election, Question
from .common import acting_user

POSITION_HELP = gettext_lazy("Leave blank to add at the end; change the numbers to reorder.")


class QuestionForm(NormalisedLabels, forms.ModelForm[Question]):
    label_fields = ("title", "description")

    class Meta:
        model = Question
        fields = (
            "position",
            "title",
            "description",
            "min_selections",
            "max_selections",
            "allow_blank",
        )
        widgets = {"description": forms.Textarea(attrs={"rows": 2, "cols": 40})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["position"].required = False
        self.fields["position"].help_text = POSITION_HELP

    def clean(self) -> dict[str, Any]:
        return self.normalise_labels(super().clean() or {})


class OptionForm(CandidateForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["position"].required = False
        self.fields["position"].help_text = POSITION_HELP


class DraftOnlyInline:
    """Questions and options change only while their election is a draft."""

    @staticmethod
    def _draft(obj: Any) -> bool:
        election = obj if isinstance(obj, Election) else getattr(obj, "election", None)
        return election is None or election.is_draft

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and self._draft(obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._draft(obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._draft(obj)  # type: ignore[misc]


class QuestionInline(DraftOnlyInline, admin.StackedInline[Question, Election]):
    model = Question
    form = QuestionForm
    extra = 0
    max_num = MAX_QUESTIONS
    show_change_link = True
    fields = (
        ("position", "title"),
        "description",
        ("min_selections", "max_selections", "allow_blank"),
        "option_list",
    )
    readonly_fields = ("option_list",)

    @admin.display(description=gettext_lazy("Options"))
    def option_list(self, obj: Question | None) -> str:
        if obj is None or obj._state.adding:
            return gettext("Save to add this question's options.")
        names = ", ".join(option.name for option in obj.options.order_by("position"))
        link = reverse("admin:elections_question_change", args=[obj.pk])
        return format_html(
            '{} · <a href="{}">{}</a>',
            names or gettext("None yet"),
            link,
            gettext("Edit the options"),
        )


class OptionInline(DraftOnlyInline, admin.TabularInline[Candidate, Question]):
    model = Candidate
    form = OptionForm
    fk_name = "question"
    extra = 0
    max_num = MAX_OPTIONS_PER_QUESTION
    verbose_name = gettext_lazy("option")
    verbose_name_plural = gettext_lazy("options (candidates or answers)")
    fields = ("position", "name", "affiliation", "statement", "account")


def ordered_forms(formset: BaseInlineFormSet[Any, Any, Any]) -> list[Any]:
    """The formset's surviving objects in the order their positions ask for.

    A blank position goes after the numbered ones; ties keep the page's order.
    """
    kept = []
    for index, form in enumerate(formset.forms):
        data = getattr(form, "cleaned_data", None)
        if not data or data.get("DELETE") or form.instance is None:
            continue
        if form.instance.pk is None and not form.has_changed():
            continue
        kept.append((data.get("position") or 1_000_000, index, form.instance))
    return [instance for _, _, instance in sorted(kept, key=lambda item: item[:2])]


def save_ordered_formset(
    request: HttpRequest, formset: BaseInlineFormSet[Any, Any, Any], election: Election
) -> None:
    """Save a questions or options formset and renumber its objects from 1."""
    formset.save(commit=False)
    instances = ordered_forms(formset)
    for instance in instances:
        if isinstance(instance, Candidate):
            instance.election = election
    try:
        services.save_in_order(
            election=election, items=instances, removed=list(formset.deleted_objects)
        )
    except services.ElectionError as error:
        messages.error(request, str(error))
        return
    formset.save_m2m()
    if formset.has_changed():
        log_action(
            actor=acting_user(request),
            action="elections.questions.changed",
            target=election,
            data={
                "questions": election.questions.count(),
                "options": election.candidates.count(),
            },
        )


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin[Question]):
    """A question's page: its rules and its options. Reached from its election's page."""

    form = QuestionForm
    inlines = [OptionInline]
    list_display = ("title", "election", "position", "rule")
    list_filter = ("election",)
    list_select_related = ("election",)
    fields = (
        "election",
        "position",
        "title",
        "description",
        ("min_selections", "max_selections", "allow_blank"),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("election",) if obj is not None else ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.election.is_draft)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.election.is_draft)

    def save_model(self, request: HttpRequest, obj: Question, form: Any, change: bool) -> None:
        if not obj.position:  # left blank: at the end
            obj.position = obj.election.questions.count() + 1
        services.require_draft(obj.election, "The questions")
        super().save_model(request, obj, form, change)

    def save_formset(
        self,
        request: HttpRequest,
        form: Any,
        formset: BaseInlineFormSet[Any, Any, Any],
        change: bool,
    ) -> None:
        save_ordered_formset(request, formset, form.instance.election)
