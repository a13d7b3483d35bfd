"""PDF URLs of the classrooms app (issue 8): class packets and sign-in sheets.

Included at the end of classrooms/urls.py (names stay in the "classrooms" namespace).
"""

from django.urls import URLPattern, path

from classrooms import views_pdf

urlpatterns: list[URLPattern] = [
    path("classes/<int:pk>/sign-in-sheet.pdf", views_pdf.signin_sheet_pdf, name="signin_sheet_pdf"),
    path("assignments/<int:pk>/packet/", views_pdf.packet_page, name="packet"),
    path("assignments/<int:pk>/packet/status/", views_pdf.packet_status, name="packet_status"),
    path("assignments/<int:pk>/packet.pdf", views_pdf.packet_pdf, name="packet_pdf"),
    path("assignments/<int:pk>/handout.pdf", views_pdf.assignment_handout_pdf, name="assignment_handout_pdf"),
]
