"""Reads for the library: protocols (with their parts), filters, and the texts a user may see.

Every list here is built with ``select_related``/``prefetch_related`` so a page costs the same
number of queries whatever the size of the library (pinned in tests/test_protocols_pages.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from accounts.models import User
from protocols.models import AgeBand, Practice, Protocol, ProtocolField, ProtocolStep, Text, TextSegment


def protocols_with_parts() -> QuerySet[Protocol]:
    """Protocols with everything a snapshot needs, in six queries for any number of protocols."""
    return Protocol.objects.prefetch_related(
        Prefetch("age_bands", queryset=AgeBand.objects.order_by("position")),
        Prefetch("practices", queryset=Practice.objects.order_by("kind", "position")),
        "stances",
        Prefetch("steps", queryset=ProtocolStep.objects.order_by("position")),
        Prefetch("fields", queryset=ProtocolField.objects.select_related("step", "practice").order_by("position")),
    )


# --------------------------------------------------------------------------------------------
# The library page
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryFilters:
    category: str = ""
    age_band: str = ""
    practice: str = ""
    q: str = ""

    @property
    def active(self) -> bool:
        return any((self.category, self.age_band, self.practice, self.q))


def protocol_library(*, filters: LibraryFilters) -> QuerySet[Protocol]:
    """Protocols for the library cards, filtered; three queries whatever the result size."""
    protocols = Protocol.objects.prefetch_related(
        Prefetch("age_bands", queryset=AgeBand.objects.order_by("position")),
        Prefetch("practices", queryset=Practice.objects.order_by("kind", "position")),
    )
    if filters.category:
        protocols = protocols.filter(category=filters.category)
    # Each filter matches one row of the join (slugs are unique), so no duplicates and no DISTINCT.
    if filters.age_band:
        protocols = protocols.filter(age_bands__slug=filters.age_band)
    if filters.practice:
        protocols = protocols.filter(practices__slug=filters.practice)
    if filters.q:
        protocols = protocols.filter(
            Q(title__icontains=filters.q) | Q(summary__icontains=filters.q) | Q(variant_label__icontains=filters.q)
        )
    return protocols


def library_filter_options() -> dict[str, list[Any]]:
    """Age bands and practices for the filter form (two queries)."""
    return {
        "age_bands": list(AgeBand.objects.order_by("position")),
        "practices": list(Practice.objects.order_by("kind", "position")),
    }


def protocol_detail(*, slug: str) -> Protocol:
    """One protocol with all of its parts, or 404."""
    try:
        return protocols_with_parts().get(slug=slug)
    except Protocol.DoesNotExist:
        raise Http404 from None


# --------------------------------------------------------------------------------------------
# Texts: the library's (no owner, public), a teacher's own (private) and those shared with them
# --------------------------------------------------------------------------------------------


def _is_teacher(user: User | AnonymousUser | None) -> bool:
    return bool(user is not None and user.is_authenticated and getattr(user, "is_teacher", False))


def texts_visible_to(user: User | AnonymousUser | None) -> QuerySet[Text]:
    """Library texts, plus for a teacher their own texts and those shared with them."""
    visible = Q(owner__isnull=True)
    if user is not None and _is_teacher(user) and user.pk is not None:
        user_id = int(user.pk)
        shared = Text.shared_with.through.objects.filter(user_id=user_id).values("text_id")
        visible |= Q(owner_id=user_id) | Q(pk__in=shared)
    return Text.objects.filter(visible)


def text_for_user(user: User | AnonymousUser | None, slug: str) -> Text:
    """A text the user may read, or 404: a teacher's own text looks absent to everyone else."""
    try:
        return texts_visible_to(user).select_related("owner").get(slug=slug)
    except Text.DoesNotExist:
        raise Http404 from None


def text_for_owner(user: User | AnonymousUser | None, slug: str) -> Text:
    """A text the user owns (to share it), or 404."""
    if not _is_teacher(user):
        raise Http404
    try:
        return Text.objects.select_related("owner").get(slug=slug, owner_id=user.pk)  # type: ignore[union-attr]
    except Text.DoesNotExist:
        raise Http404 from None


def texts_library() -> QuerySet[Text]:
    """The shipped texts with their segment counts (one query)."""
    return Text.objects.filter(owner__isnull=True).annotate(segment_count=Count("segments")).order_by("title")


def texts_of_teacher(*, user: User) -> QuerySet[Text]:
    """A teacher's own texts and the texts colleagues shared with them (one query)."""
    shared = Text.shared_with.through.objects.filter(user_id=user.pk).values("text_id")
    return (
        Text.objects.filter(Q(owner_id=user.pk) | Q(pk__in=shared))
        .select_related("owner")
        .annotate(segment_count=Count("segments"))
        .order_by("title")
    )


def text_segments(*, text: Text) -> list[TextSegment]:
    return list(TextSegment.objects.filter(text=text).order_by("position"))


def text_picker_options(*, user: User | AnonymousUser | None) -> list[Text]:
    """Texts for the protocol page's text picker: the library first, then the teacher's own."""
    return list(texts_visible_to(user).only("slug", "title", "reference", "owner_id").order_by("owner_id", "title"))


def text_share_candidates(*, owner: User) -> QuerySet[User]:
    """Teachers the owner teaches a class with: the only people a private text can be shared with."""
    return (
        User.objects.filter(role=User.Role.TEACHER, classroom_links__classroom__teacher_links__teacher=owner)
        .exclude(pk=owner.pk)
        .distinct()
        .order_by("display_name", "pk")
    )
