"""``{% pairing_section classroom %}``: the pairings and assignments section of the class page.

The class page belongs to the roster views; this tag lets it show recent pairings and
assignments without its view knowing how they are read.
"""

from __future__ import annotations

from typing import Any

from django import template

from classrooms.models import Classroom
from classrooms.selectors_pairing import pairing_section_data

register = template.Library()


@register.inclusion_tag("classrooms/_detail_pairing_section.html")
def pairing_section(classroom: Classroom) -> dict[str, Any]:
    return pairing_section_data(classroom=classroom)
