from __future__ import annotations

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import User


class TeacherSignupForm(forms.Form):
    """allauth's sign-up plus the teacher's name: co-teachers and the class header show it, not the email."""

    display_name = forms.CharField(
        label=_("Your name"),
        max_length=80,
        help_text=_("As your students and colleagues know you, for example Ms. Cohen."),
        widget=forms.TextInput(attrs={"autocomplete": "name", "dir": "auto"}),
    )
    field_order = ["display_name", "email", "password1", "password2"]

    def clean_display_name(self) -> str:
        name = " ".join(self.cleaned_data["display_name"].split())
        if not name:
            raise forms.ValidationError(_("Write your name."))
        return name

    def signup(self, request: HttpRequest, user: User) -> None:
        user.display_name = self.cleaned_data["display_name"]
        user.save(update_fields=["display_name"])
