from django.urls import path

from protocols import views

app_name = "protocols"
urlpatterns = [
    path("protocols/", views.library, name="library"),
    path("protocols/<slug:slug>/", views.protocol_detail, name="detail"),
    path("texts/", views.texts, name="texts"),
    # Before texts/<slug>/: "mine" and "new" are pages, not texts.
    path("texts/mine/", views.texts_mine, name="texts_mine"),
    path("texts/new/", views.text_new, name="text_new"),
    path("texts/<slug:slug>/", views.text_detail, name="text_detail"),
    path("texts/<slug:slug>/share/", views.text_share, name="text_share"),
    path("texts/<slug:slug>/unshare/", views.text_unshare, name="text_unshare"),
]

# PDF handouts (issue 8, protocols/views_pdf.py).
from protocols import views_pdf  # noqa: E402

urlpatterns += [
    path("protocols/<slug:slug>/handout.pdf", views_pdf.handout_pdf, name="handout_pdf"),
]
