"""Forms of the election administration: candidates, roll entries and the confirmation pages."""

import unicodedata
from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_lazy

from accounts.models import Role, User

from .models import Candidate, Election, RollEntry, Status
from .roll import MAX_ROLL_BYTES
from .trustee.files import MAX_PARTIAL_BYTES, MAX_PUBLIC_BYTES

# The key sizes the in-browser ceremony offers, less those below crypto.minimum_key_bits().
KEY_SIZES = (1024, 2048, 3072, 4096)


class NormalisedLabels:
    """Labels typed in the admin are stored in Unicode NFC, the one spelling the ballot
    format's fingerprint accepts (a name pasted from elsewhere may come decomposed)."""

    label_fields: tuple[str, ...] = ()

    def normalise_labels(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        for field in self.label_fields:
            if isinstance(cleaned.get(field), str):
                cleaned[field] = unicodedata.normalize("NFC", cleaned[field])
        return cleaned


def name_date_and_time_boxes(form: forms.BaseForm) -> None:
    """Name the date box and the time box of each date-and-time field after the field.

    The admin writes the field's label above both boxes as a label of neither, so
    without a name of their own a screen reader announces two unnamed text boxes.
    """
    for field in form.fields.values():
        if isinstance(field.widget, forms.SplitDateTimeWidget):
            date, time = field.widget.widgets
            date.attrs["aria-label"] = gettext("%(field)s: date") % {"field": field.label}
            time.attrs["aria-label"] = gettext("%(field)s: time") % {"field": field.label}


class ElectionForm(NormalisedLabels, forms.ModelForm[Election]):
    label_fields = ("title",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name_date_and_time_boxes(self)

    def clean(self) -> dict[str, Any]:
        return self.normalise_labels(super().clean() or {})


class CandidateForm(NormalisedLabels, forms.ModelForm[Candidate]):
    """A ballot line; with an account chosen and no name, the account's public name is used."""

    label_fields = ("name", "affiliation")

    class Meta:
        model = Candidate
        fields = ("position", "name", "affiliation", "statement", "account")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        self.fields["name"].help_text = gettext_lazy(
            "Leave blank to use the linked account's public name."
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        account: User | None = cleaned.get("account")
        if not cleaned.get("name"):
            if account is None:
                self.add_error(
                    "name", gettext("Give a name or link an approved candidate account.")
                )
            else:
                cleaned["name"] = account.public_name
        return self.normalise_labels(cleaned)


class RollEntryForm(forms.ModelForm[RollEntry]):
    class Meta:
        model = RollEntry
        fields = ("election", "voter")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        election_field = self.fields["election"]
        voter_field = self.fields["voter"]
        assert isinstance(election_field, forms.ModelChoiceField)
        assert isinstance(voter_field, forms.ModelChoiceField)
        election_field.queryset = Election.objects.filter(status=Status.DRAFT)
        election_field.help_text = gettext_lazy(
            "Only draft elections: the roll is fixed once voting opens."
        )
        voter_field.queryset = User.objects.filter(role=Role.VOTER)


class ResetForm(forms.Form):
    confirm = forms.CharField(
        label=gettext_lazy("Type the election's identifier to confirm"), max_length=64
    )

    def __init__(self, *args: Any, slug: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slug = slug

    def clean_confirm(self) -> str:
        value: str = self.cleaned_data["confirm"].strip()
        if value != self.slug:
            raise forms.ValidationError(
                gettext("Type %(slug)s exactly to confirm.") % {"slug": self.slug}
            )
        return value


class RollUploadForm(forms.Form):
    csv_file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8, at most 5 MB, header username,email[,first_name,last_name]."
        ),
    )

    def clean_csv_file(self) -> bytes:
        upload = self.cleaned_data["csv_file"]
        if upload.size > MAX_ROLL_BYTES:
            raise forms.ValidationError(gettext("The file is larger than 5 MB."))
        data: bytes = upload.read()
        return data


class TrusteeFileForm(forms.Form):
    """One file from the trustees, read in memory; ``max_bytes`` caps it before it is read."""

    field_name = ""
    max_bytes = 0

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get(self.field_name)
        if upload is not None:
            if upload.size > self.max_bytes:
                self.add_error(
                    self.field_name, gettext("This file is too large to be this kind of file.")
                )
            else:
                cleaned[self.field_name] = upload.read()
        return cleaned


class TrusteeKeyForm(TrusteeFileForm):
    field_name = "public_file"
    max_bytes = MAX_PUBLIC_BYTES
    public_file = forms.FileField(
        label=gettext_lazy("Trustees' public key"),
        help_text=gettext_lazy(
            "The public.json written by the key ceremony. Never a trustee-<i>.json share."
        ),
    )


class PartialDecryptionForm(TrusteeFileForm):
    field_name = "partial_file"
    max_bytes = MAX_PARTIAL_BYTES
    partial_file = forms.FileField(
        label=gettext_lazy("Partial decryption"),
        help_text=gettext_lazy(
            "A trustee's partial-<i>.json, made from this election's tally.json."
        ),
    )
