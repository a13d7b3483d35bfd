from django.urls import URLPattern, path

from worksheets import views
from worksheets.urls_pdf import urlpatterns as pdf_urlpatterns

app_name = "worksheets"
urlpatterns: list[URLPattern] = [
    path("worksheets/<int:pk>/", views.worksheet_detail, name="detail"),
    # PDFs (issue 8): completed worksheets, see worksheets/urls_pdf.py.
    *pdf_urlpatterns,
]
