"""Library pages: protocols (teacher and student versions, previewed with a text) and texts.

The protocol library is a public showcase: anyone may browse it. Only a signed-in teacher ever
gets the teacher version; students and visitors get the student version whatever they ask for.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from protocols import selectors, services
from protocols.forms import LibraryFilterForm, TextCreateForm, TextShareForm
from protocols.models import Text
from protocols.text_import import TextImportError
from protocols.validation import protocol_student_view

STUDENT = "student"
TEACHER = "teacher"
# The service rejects more than this; the form tells the teacher as they paste (static/js/library.js).
TEXT_MAX_BYTES = 200_000


def _is_teacher(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and getattr(user, "is_teacher", False))


def _teacher_or_404(request: HttpRequest) -> None:
    if not _is_teacher(request):
        raise Http404


def library(request: HttpRequest) -> HttpResponse:
    options = selectors.library_filter_options()
    form = LibraryFilterForm(request.GET or None, **options)
    filters = form.filters()
    protocols = list(selectors.protocol_library(filters=filters))
    return render(
        request,
        "protocols/library.html",
        {"form": form, "filters": filters, "protocols": protocols, "is_teacher": _is_teacher(request)},
    )


def _version_url(slug: str, version: str, text: Text | None) -> str:
    query = {"version": version}
    if text is not None:
        query["text"] = text.slug
    return f"{reverse('protocols:detail', args=[slug])}?{urlencode(query)}"


def protocol_detail(request: HttpRequest, slug: str) -> HttpResponse:
    protocol = selectors.protocol_detail(slug=slug)
    is_teacher = _is_teacher(request)
    version = TEACHER if is_teacher and request.GET.get("version", TEACHER) != STUDENT else STUDENT
    data = services.protocol_snapshot(protocol)
    if version == STUDENT:
        data = protocol_student_view(data)
    text_slug = request.GET.get("text", "")
    text = selectors.text_for_user(request.user, text_slug) if text_slug else None  # type: ignore[arg-type]
    context: dict[str, Any] = {
        "protocol": protocol,
        "data": data,
        "version": version,
        "is_teacher": is_teacher,
        "text": text,
        "segments": selectors.text_segments(text=text) if text is not None else [],
        "text_options": selectors.text_picker_options(user=request.user),  # type: ignore[arg-type]
        "student_url": _version_url(slug, STUDENT, text),
        "teacher_url": _version_url(slug, TEACHER, text),
    }
    return render(request, "protocols/detail.html", context)


# --------------------------------------------------------------------------------------------
# Texts
# --------------------------------------------------------------------------------------------


def texts(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "protocols/texts.html",
        {"texts": list(selectors.texts_library()), "is_teacher": _is_teacher(request)},
    )


def text_detail(request: HttpRequest, slug: str) -> HttpResponse:
    text = selectors.text_for_user(request.user, slug)  # type: ignore[arg-type]
    context: dict[str, Any] = {
        "text": text,
        "segments": selectors.text_segments(text=text),
        "is_owner": text.owner_id is not None and text.owner_id == request.user.pk,
        "library_url": reverse("protocols:library"),
    }
    if context["is_owner"]:
        shared_with = list(text.shared_with.order_by("display_name", "pk"))
        candidates = selectors.text_share_candidates(owner=text.owner).exclude(pk__in=[u.pk for u in shared_with])  # type: ignore[arg-type]
        context["shared_with"] = shared_with
        context["share_form"] = TextShareForm(candidates=list(candidates))
    return render(request, "protocols/text_detail.html", context)


@login_required
def texts_mine(request: HttpRequest) -> HttpResponse:
    _teacher_or_404(request)
    mine = list(selectors.texts_of_teacher(user=request.user))  # type: ignore[arg-type]
    return render(
        request,
        "protocols/texts_mine.html",
        {
            "own_texts": [t for t in mine if t.owner_id == request.user.pk],
            "shared_texts": [t for t in mine if t.owner_id != request.user.pk],
        },
    )


@login_required
def text_new(request: HttpRequest) -> HttpResponse:
    _teacher_or_404(request)
    form = TextCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            text = services.text_create_from_paste(
                owner=request.user,  # type: ignore[arg-type]
                title=form.cleaned_data["title"],
                reference=form.cleaned_data["reference"],
                hebrew=form.cleaned_data["hebrew"],
                english=form.cleaned_data["english"],
                max_bytes=TEXT_MAX_BYTES,
            )
        except TextImportError as error:
            form.add_error(None, error.message)
        else:
            count = text.segments.count()
            messages.success(
                request,
                _("Your text “%(title)s” was added with %(count)d numbered segments. Only you can see it.")
                % {"title": text.title, "count": count},
            )
            return redirect("protocols:text_detail", slug=text.slug)
    return render(
        request,
        "protocols/text_new.html",
        {"form": form, "max_bytes": TEXT_MAX_BYTES, "max_kb": TEXT_MAX_BYTES // 1000},
    )


@require_POST
@login_required
def text_share(request: HttpRequest, slug: str) -> HttpResponse:
    text = selectors.text_for_owner(request.user, slug)  # type: ignore[arg-type]
    form = TextShareForm(request.POST, candidates=list(selectors.text_share_candidates(owner=text.owner)))  # type: ignore[arg-type]
    if form.is_valid():
        try:
            services.text_share(text=text, with_user=form.cleaned_data["teacher"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Shared with %(name)s.") % {"name": form.cleaned_data["teacher"].name})
    else:
        messages.error(request, _("Choose a teacher who teaches a class with you."))
    return redirect("protocols:text_detail", slug=text.slug)


@require_POST
@login_required
def text_unshare(request: HttpRequest, slug: str) -> HttpResponse:
    text = selectors.text_for_owner(request.user, slug)  # type: ignore[arg-type]
    teacher_id = request.POST.get("teacher", "")
    teacher = text.shared_with.filter(pk=int(teacher_id)).first() if teacher_id.isdigit() else None
    if teacher is not None:
        services.text_unshare(text=text, with_user=teacher)
        messages.success(request, _("%(name)s no longer sees this text.") % {"name": teacher.name})
    return redirect("protocols:text_detail", slug=text.slug)
