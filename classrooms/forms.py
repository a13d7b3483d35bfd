"""Forms for classes, rosters, co-teachers and student sign-in. Validation of input only; the
writes and the rules that need the database live in services.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from classrooms import roster_import
from classrooms.models import Classroom


class ClassroomForm(forms.ModelForm):
    class Meta:
        model = Classroom
        fields = ["name", "grade_band", "language"]
        labels = {"name": _("Class name"), "grade_band": _("Grade band"), "language": _("Language for students")}
        help_texts = {
            "name": _("For example: Grade 7 Chumash, Tuesday adult learners."),
            "language": _("The language students see when they sign in. Each person can still switch."),
        }
        widgets = {"name": forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"})}


class RosterAddForm(forms.Form):
    """Names pasted one per line, or a CSV file; exactly one of the two."""

    names = forms.CharField(
        label=_("Type or paste names, one per line"),
        required=False,
        strip=False,
        # maxlength: a browser stops a giant paste at the limit instead of sending megabytes.
        widget=forms.Textarea(
            attrs={
                "dir": "auto",
                "rows": 10,
                "spellcheck": "false",
                "autocomplete": "off",
                "maxlength": roster_import.MAX_BYTES,
            }
        ),
        help_text=_("To add a group label, put a tab after the name (copy two columns from a spreadsheet)."),
    )
    csv_file = forms.FileField(
        label=_("Or upload a CSV file"),
        required=False,
        help_text=_(
            "Columns: name, and an optional group label. A header row is optional. "
            "Save it as “CSV UTF-8”; at most 500 students and 1 MB."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        has_names = bool((data.get("names") or "").strip())
        has_file = data.get("csv_file") is not None or self.has_error("csv_file")  # (too large: said already)
        if has_names and has_file:
            raise forms.ValidationError(_("Paste names or upload a file, not both."), code="both")
        if not has_names and not has_file:
            raise forms.ValidationError(_("Type at least one name, or choose a CSV file."), code="none")
        return data

    def clean_csv_file(self) -> UploadedFile | None:
        """Refuse a file over the limit by its size alone, before a byte of it is read or parsed."""
        upload: UploadedFile | None = self.cleaned_data.get("csv_file")
        if upload is not None and (upload.size or 0) > roster_import.MAX_BYTES:
            error = roster_import.FileError(
                roster_import.FILE_TOO_LARGE, {"limit_mb": roster_import.MAX_BYTES // 2**20}
            )
            raise forms.ValidationError(file_error_message(error), code="too_large")
        return upload

    def read_file(self) -> bytes:
        """At most one byte more than the limit, so an oversized upload is never read whole."""
        upload: UploadedFile = self.cleaned_data["csv_file"]
        upload.seek(0)
        return upload.read(roster_import.MAX_BYTES + 1)


class StudentEditForm(forms.Form):
    display_name = forms.CharField(
        label=_("Name"),
        max_length=roster_import.MAX_NAME_LENGTH,
        widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"}),
        help_text=_("As the student will see it on the sign-in page. First name and an initial is enough."),
    )
    group_label = forms.CharField(
        label=_("Group label"),
        max_length=roster_import.MAX_GROUP_LENGTH,
        required=False,
        widget=forms.TextInput(attrs={"dir": "auto", "autocomplete": "off"}),
        help_text=_("Optional, e.g. a reading group. Pairing can balance havrutot by it."),
    )


class StudentMoveForm(forms.Form):
    to_classroom = forms.TypedChoiceField(label=_("Move to class"), coerce=int)

    def __init__(self, *args: Any, targets: list[Classroom], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_classroom"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(c.pk, c.name) for c in targets]


class CoTeacherInviteForm(forms.Form):
    email = forms.EmailField(
        label=_("Colleague's email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "off", "dir": "ltr"}),
        help_text=_("They get a link by email. Co-teachers have the same rights as you in this class."),
    )


class JoinCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Class code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "dir": "ltr",
                "class": "join-code-input",
            }
        ),
        help_text=_("Your teacher shows it on the board, for example K7M-3QD."),
    )


class PinForm(forms.Form):
    pin = forms.CharField(
        label=_("Your PIN"),
        max_length=6,
        min_length=4,
        widget=forms.PasswordInput(
            attrs={
                "inputmode": "numeric",
                "pattern": "[0-9]*",
                "autocomplete": "off",
                "dir": "ltr",
                "class": "pin-input",
                "autofocus": True,
            }
        ),
        help_text=_("The 4 digits on your sign-in card. Ask your teacher if you don't know it."),
        error_messages={
            "min_length": _("A PIN has at least 4 digits."),
            "max_length": _("A PIN has at most 6 digits."),
        },
    )

    def clean_pin(self) -> str:
        pin = "".join(self.cleaned_data["pin"].split())
        if not pin.isdigit():
            raise forms.ValidationError(_("A PIN has only digits."), code="digits")
        return pin


def tries_left_message(count: int) -> str:
    return ngettext(
        "That PIN is not right. You can try %(count)d more time.",
        "That PIN is not right. You can try %(count)d more times.",
        count,
    ) % {"count": count}


ROW_ERROR_MESSAGES = {
    roster_import.EMPTY_NAME: _("The name is empty."),
    roster_import.NAME_TOO_LONG: _("The name is %(length)d characters long; names can have at most %(limit)d."),
    roster_import.GROUP_TOO_LONG: _(
        "The group label is %(length)d characters long; group labels can have at most %(limit)d."
    ),
    roster_import.DUPLICATE_IN_FILE: _("The same name is already on line %(first_line)d."),
    roster_import.DUPLICATE_IN_ROSTER: _("A student with this name is already in the class."),
    roster_import.TOO_MANY_COLUMNS: _(
        "This row has %(count)d columns; expected a name and, optionally, a group label."
    ),
    roster_import.CONTROL_CHARACTERS: _("This row contains invisible control characters."),
}

FILE_ERROR_MESSAGES = {
    roster_import.FILE_TOO_LARGE: _("The file is larger than %(limit_mb)d MB. A class list is much smaller than that."),
    roster_import.TEXT_TOO_LARGE: _(
        "The list is larger than %(limit_mb)d MB. A class list is much shorter than that: paste only the names."
    ),
    roster_import.TOO_MANY_ROWS: _(
        "The list has %(count)d students; at most %(limit)d can be added at once. Split it into smaller lists."
    ),
    roster_import.NOT_UTF8: _(
        "The file is not saved as UTF-8 text, so names (Hebrew ones especially) would come out garbled. "
        "In Excel or Numbers choose “CSV UTF-8”; in Google Sheets use File > Download > CSV. Then upload it again."
    ),
    roster_import.BINARY: _("This is not a text file. Export the class list as CSV and upload that."),
    roster_import.SPREADSHEET: _(
        "This is a spreadsheet file (for example Excel), not a CSV. Save it as “CSV UTF-8” and upload that."
    ),
    roster_import.EMPTY_FILE: _("There are no names in it."),
    roster_import.UNREADABLE: _("The file could not be read as CSV. Check that it is a plain list of names."),
}


def row_error_message(error: roster_import.RowError) -> str:
    message = ROW_ERROR_MESSAGES.get(error.code, _("This row cannot be imported."))
    return str(message) % error.params if error.params else str(message)


def file_error_message(error: roster_import.FileError) -> str:
    message = FILE_ERROR_MESSAGES.get(error.code, _("This list cannot be imported."))
    return str(message) % error.params if error.params else str(message)
