"""Forms for pairing sessions, pairing rules and assignments.

Choices are built from rows the view already loaded (roster, sessions, library), so validating a
form never costs another query per choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from classrooms.models import Enrollment, PairingConstraint, PairingSession
from protocols.models import Protocol, Text

METHOD_CHOICES = [
    (PairingSession.Method.ROTATE, _("Rotate: fewest repeat partners")),
    (PairingSession.Method.RANDOM, _("Random")),
    (PairingSession.Method.MANUAL, _("Manual: start from the roster order and arrange them myself")),
    (PairingSession.Method.REUSE, _("Reuse an earlier pairing")),
]


def session_label(session: PairingSession) -> str:
    return _("%(date)s · %(method)s") % {
        "date": session.date.isoformat(),
        "method": session.get_method_display(),
    }


class PairingNewForm(forms.Form):
    present = forms.TypedMultipleChoiceField(
        label=_("Who is here today?"), coerce=int, widget=forms.CheckboxSelectMultiple, required=True
    )
    method = forms.ChoiceField(
        label=_("How to pair"), choices=METHOD_CHOICES, widget=forms.RadioSelect, initial=PairingSession.Method.ROTATE
    )
    from_session = forms.TypedChoiceField(label=_("Earlier pairing to reuse"), coerce=int, required=False)
    label_mode = forms.ChoiceField(
        label=_("Group labels"),
        choices=[("mix", _("Mix groups in each havruta")), ("match", _("Keep each havruta within one group"))],
        initial="mix",
        required=False,
        widget=forms.RadioSelect,
    )
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(
        self, *args: Any, roster: Sequence[Enrollment], sessions: Sequence[PairingSession], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["present"].choices = [(e.student_id, e.student.name) for e in roster]
        self.fields["from_session"].choices = [
            ("", _("Choose an earlier pairing")),
            *[(s.pk, session_label(s)) for s in sessions],
        ]
        self.fields["date"].initial = timezone.localdate()
        if not self.is_bound:
            self.initial.setdefault("present", [e.student_id for e in roster])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("method") == PairingSession.Method.REUSE and not data.get("from_session"):
            self.add_error("from_session", _("Choose the pairing to reuse."))
        present = data.get("present") or []
        if "present" in data and len(present) < 2:
            self.add_error("present", _("Choose at least two students who are here today."))
        return data


class MoveForm(forms.Form):
    """One student to another havruta ("<id>"), to a new one ("new"), or swapped with a classmate ("swap:<id>")."""

    student = forms.IntegerField()
    to = forms.RegexField(regex=r"^(new|\d{1,12}|swap:\d{1,12})$")


class StudentForm(forms.Form):
    student = forms.IntegerField()


class ConstraintForm(forms.Form):
    student_a = forms.TypedChoiceField(label=_("Student"), coerce=int)
    kind = forms.ChoiceField(label=_("Rule"), choices=PairingConstraint.Kind.choices)
    student_b = forms.TypedChoiceField(label=_("and"), coerce=int)

    def __init__(self, *args: Any, roster: Sequence[Enrollment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(e.student_id, e.student.name) for e in roster]
        self.fields["student_a"].choices = choices
        self.fields["student_b"].choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("student_a") is not None and data.get("student_a") == data.get("student_b"):
            self.add_error("student_b", _("Choose two different students."))
        return data


class AssignmentForm(forms.Form):
    protocol = forms.TypedChoiceField(label=_("Protocol"), coerce=int)
    text = forms.TypedChoiceField(
        label=_("Text"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("Protocols that study a text show it beside the worksheet. Leave empty for a printed text."),
    )
    warm_up_first = forms.BooleanField(label=_("Start with the Havruta Warm Up"), required=False)
    warm_up = forms.TypedChoiceField(label=_("Warm Up version"), coerce=int, required=False, empty_value=None)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(
        self,
        *args: Any,
        grouped: Sequence[tuple[str, Sequence[Protocol]]],
        texts: Sequence[Text],
        warm_ups: Sequence[Protocol],
        default_warm_up: Protocol | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.protocols = {p.pk: p for _label, group in grouped for p in group}
        self.texts = {t.pk: t for t in texts}
        self.warm_ups = {p.pk: p for p in warm_ups}
        self.fields["protocol"].choices = [
            ("", _("Choose a protocol")),
            *[(label, [(p.pk, str(p)) for p in group]) for label, group in grouped],
        ]
        self.fields["text"].choices = [
            ("", _("No text")),
            *[(t.pk, f"{t.title} ({t.reference})" if t.reference else t.title) for t in texts],
        ]
        self.fields["warm_up"].choices = [(p.pk, p.variant_label or str(p)) for p in warm_ups]
        self.fields["date"].initial = timezone.localdate()
        if default_warm_up is not None:
            self.fields["warm_up"].initial = default_warm_up.pk

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["protocol_obj"] = self.protocols.get(data.get("protocol") or 0)
        data["text_obj"] = self.texts.get(data.get("text") or 0)
        data["warm_up_obj"] = None
        if data.get("warm_up_first"):
            data["warm_up_obj"] = self.warm_ups.get(data.get("warm_up") or 0)
            if data["warm_up_obj"] is None:
                self.add_error("warm_up", _("Choose which Warm Up to start with."))
        return data
