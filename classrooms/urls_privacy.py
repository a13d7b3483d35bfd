"""Children's privacy URLs of the classrooms app: a student's data export.

Included at the end of classrooms/urls.py (names stay in the "classrooms" namespace). Deleting a
student is the roster's "Remove" URL (classrooms:student_remove), served by views_privacy.
"""

from django.urls import URLPattern, path

from classrooms import views_privacy

urlpatterns: list[URLPattern] = [
    path("classes/<int:pk>/students/<int:student_pk>/export.json", views_privacy.student_export, name="student_export"),
]
