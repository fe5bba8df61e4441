"""Registration and profile forms. Role and privilege fields are never form fields."""

from django import forms
from django.contrib.auth.forms import UserCreationForm

from .models import User


class VoterRegistrationForm(UserCreationForm[User]):
    email = forms.EmailField(required=True)

    class Meta:
        model = User
        fields: tuple[str, ...] = ("username", "email", "first_name", "last_name")

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email address already exists.")
        return email


class CandidateRegistrationForm(VoterRegistrationForm):
    display_name = forms.CharField(max_length=120, help_text="The name shown on ballots.")

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
    class Meta:
        model = User
        fields = ("display_name", "affiliation", "statement")
        widgets = {"statement": forms.Textarea(attrs={"rows": 5, "maxlength": 2000})}
