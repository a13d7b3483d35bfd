from django.urls import path

from reflections import views, views_pdf

app_name = "reflections"
urlpatterns = [
    path("reflections/", views.index, name="index"),
    path("reflections/session/<int:session_pk>/", views.reflection, name="reflection"),
    path("reflections/session/<int:session_pk>/autosave/", views.reflection_autosave, name="autosave"),
    path("reflections/session/<int:session_pk>/overview/", views.session_overview, name="session_overview"),
    path("reflections/session/<int:session_pk>/lock/", views.session_lock, name="session_lock"),
    path("reflections/session/<int:session_pk>/end/", views.session_end, name="session_end"),
    path(
        "reflections/session/<int:session_pk>/students/<int:student_pk>/",
        views.reflection_for_teacher,
        name="reflection_for_teacher",
    ),
    # PDFs (issue 8): a reflection and self-assessment for parent conferences, reflections/views_pdf.py.
    path(
        "reflections/session/<int:session_pk>/students/<int:student_pk>/reflection.pdf",
        views_pdf.reflection_pdf_for_teacher,
        name="reflection_pdf_for_teacher",
    ),
    path(
        "reflections/session/<int:session_pk>/reflection.pdf",
        views_pdf.reflection_pdf_for_student,
        name="reflection_pdf",
    ),
    path("reflections/students/<int:student_pk>/growth/", views.student_growth, name="student_growth"),
    path("reflections/students/<int:student_pk>/export.json", views.student_export_json, name="student_export_json"),
    path("reflections/classes/<int:class_pk>/growth/", views.class_growth, name="class_growth"),
    path("reflections/classes/<int:class_pk>/export.csv", views.class_export_csv, name="class_export_csv"),
    path("reflections/classes/<int:class_pk>/portrait/", views.class_portrait, name="class_portrait"),
    path("reflections/portrait/", views.portrait, name="portrait"),
]
