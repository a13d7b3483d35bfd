"""Forms of the library pages: the library filters (GET), pasting a text, sharing a text."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from protocols.models import AgeBand, Practice, Protocol
from protocols.selectors import LibraryFilters


class LibraryFilterForm(forms.Form):
    """The library's filters. Unknown values are ignored rather than failing the whole page."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "dir": "auto", "placeholder": _("Title or purpose, e.g. listening")}
        ),
    )
    category = forms.ChoiceField(label=_("Kind of protocol"), required=False)
    age_band = forms.ChoiceField(label=_("Age group"), required=False)
    practice = forms.ChoiceField(label=_("Practice"), required=False)

    def __init__(self, *args: Any, age_bands: list[AgeBand], practices: list[Practice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["category"]).choices = [("", _("All kinds")), *Protocol.Category.choices]
        cast(forms.ChoiceField, self.fields["age_band"]).choices = [
            ("", _("All ages")),
            *((b.slug, b.name) for b in age_bands),
        ]
        core = [(p.slug, p.name) for p in practices if p.kind == Practice.Kind.PRACTICE]
        triangle = [(p.slug, p.name) for p in practices if p.kind == Practice.Kind.TRIANGLE]
        cast(forms.ChoiceField, self.fields["practice"]).choices = [
            ("", _("All practices")),
            (_("Core practices"), core),
            (_("Learning triangle"), triangle),
        ]

    def filters(self) -> LibraryFilters:
        if not self.is_bound:
            return LibraryFilters()
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return LibraryFilters(
            category=data.get("category", ""),
            age_band=data.get("age_band", ""),
            practice=data.get("practice", ""),
            q=(data.get("q") or "").strip(),
        )


class TextCreateForm(forms.Form):
    """A teacher's pasted text. The size and script checks live in the service (TextImportError)."""

    title = forms.CharField(
        label=_("Title"), max_length=160, widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"})
    )
    reference = forms.CharField(
        label=_("Reference"),
        max_length=120,
        required=False,
        help_text=_("Where the passage comes from, e.g. Genesis 12:1-9 or Pirkei Avot 2:4."),
        widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"}),
    )
    hebrew = forms.CharField(
        label=_("Hebrew"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"lang": "he", "dir": "rtl", "rows": 14, "spellcheck": "false"}),
    )
    english = forms.CharField(
        label=_("English"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"lang": "en", "dir": "ltr", "rows": 14}),
    )


class TextShareForm(forms.Form):
    """Choose a colleague to share a text with; the choices are already evaluated (no extra query)."""

    teacher = forms.TypedChoiceField(label=_("Share with"), coerce=int)

    def __init__(self, *args: Any, candidates: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candidates = {user.pk: user for user in candidates}
        cast(forms.ChoiceField, self.fields["teacher"]).choices = [(user.pk, user.name) for user in candidates]

    def clean_teacher(self) -> User:
        return self.candidates[self.cleaned_data["teacher"]]
