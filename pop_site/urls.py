from django.contrib import admin
from django.urls import include, path

from pop_site import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("home/", views.home, name="home"),
    path("about/", views.about, name="about"),
    path("privacy/", views.privacy, name="privacy"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("", include("classrooms.urls")),
    path("", include("protocols.urls")),
    path("", include("worksheets.urls")),
    path("", include("reflections.urls")),
    path("admin/", admin.site.urls),
]
