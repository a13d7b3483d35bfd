"""PDF URLs of the worksheets app (issue 8), included at the end of worksheets/urls.py."""

from django.urls import URLPattern, path

from worksheets import views_pdf

urlpatterns: list[URLPattern] = [
    path("worksheets/<int:pk>/worksheet.pdf", views_pdf.worksheet_pdf_view, name="worksheet_pdf"),
]
