"""URLs for pairing sessions and assignments (kept apart from classes and rosters)."""

from django.urls import URLPattern, path

from classrooms import views_pairing as views

urlpatterns: list[URLPattern] = [
    # A class's pairings and assignments
    path("classes/<int:pk>/pairings/", views.pairing_list, name="pairing_list"),
    path("classes/<int:pk>/pairings/new/", views.pairing_new, name="pairing_new"),
    path("classes/<int:pk>/pairings/history/", views.pairing_history, name="pairing_history"),
    path("classes/<int:pk>/assignments/", views.assignment_list, name="assignment_list"),
    # One pairing session
    path("pairings/<int:pk>/", views.pairing_detail, name="pairing_detail"),
    path("pairings/<int:pk>/reshuffle/", views.pairing_reshuffle, name="pairing_reshuffle"),
    path("pairings/<int:pk>/move/", views.pairing_move, name="pairing_move"),
    path("pairings/<int:pk>/absent/", views.pairing_absent, name="pairing_absent"),
    path("pairings/<int:pk>/present/", views.pairing_present, name="pairing_present"),
    path("pairings/<int:pk>/havrutot/<int:havruta_pk>/lock/", views.havruta_lock, name="havruta_lock"),
    path("pairings/<int:pk>/constraints/", views.constraint_new, name="constraint_new"),
    path(
        "pairings/<int:pk>/constraints/<int:constraint_pk>/delete/",
        views.constraint_delete,
        name="constraint_delete",
    ),
    path("pairings/<int:pk>/assign/", views.assignment_new, name="assignment_new"),
    # One assignment
    path("assignments/<int:pk>/", views.assignment_detail, name="assignment_detail"),
    path("assignments/<int:pk>/close/", views.assignment_close, name="assignment_close"),
    path("assignments/<int:pk>/reopen/", views.assignment_reopen, name="assignment_reopen"),
    path("assignments/<int:pk>/delete/", views.assignment_delete, name="assignment_delete"),
]
