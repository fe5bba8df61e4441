"""Registration and profile forms. Role and privilege fields are never form fields."""

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext, gettext_lazy

from elections.models import Question, Status
from elections.services import save_candidate_profile

from .models import User


class VoterRegistrationForm(UserCreationForm[User]):
    email = forms.EmailField(required=True)

    class Meta:
        model = User
        fields: tuple[str, ...] = ("username", "email", "first_name", "last_name")

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                gettext("An account with this email address already exists.")
            )
        return email


class CandidateRegistrationForm(VoterRegistrationForm):
    display_name = forms.CharField(
        label=gettext_lazy("Display name"),
        max_length=120,
        help_text=gettext_lazy("The name shown on ballots."),
    )

    class Meta(VoterRegistrationForm.Meta):
        fields = (
            "username",
            "email",
            "first_name",
            "last_name",
            "display_name",
            "affiliation",
            "statement",
        )
        widgets = {"statement": forms.Textarea(attrs={"rows": 5, "maxlength": 2000})}


class CandidateProfileForm(forms.ModelForm[User]):
    # How many options of draft elections took the saved profile.
    options_updated = 0

    class Meta:
        model = User
        fields = ("display_name", "affiliation", "statement")
        widgets = {"statement": forms.Textarea(attrs={"rows": 5, "maxlength": 2000})}

    def save(self, commit: bool = True) -> User:
        # Through the service, so the candidate's options in draft elections follow it.
        if commit:
            self.options_updated = save_candidate_profile(candidate=self.instance)
        return self.instance


class CandidacyRequestForm(forms.Form):
    question = forms.ModelChoiceField(
        queryset=Question.objects.filter(election__status=Status.DRAFT),
        label=gettext_lazy("Question"),
        error_messages={
            "invalid_choice": gettext_lazy(
                "That question is not in an election open to candidacies (a draft)."
            )
        },
    )
