from django.urls import path

from classrooms import views
from classrooms.urls_pairing import urlpatterns as pairing_urlpatterns

app_name = "classrooms"
urlpatterns = [
    # Student sign-in (no email): class code, then name, then PIN.
    path("join/", views.join, name="join"),
    path("join/<str:code>/", views.join_class, name="join_class"),
    path("join/<str:code>/<int:student_pk>/", views.join_pin, name="join_pin"),
    path("me/", views.student_home, name="student_home"),
    # Teachers: classes.
    path("classes/", views.teacher_home, name="teacher_home"),
    path("classes/new/", views.classroom_new, name="classroom_new"),
    path("classes/<int:pk>/", views.classroom_detail, name="detail"),
    path("classes/<int:pk>/edit/", views.classroom_edit, name="classroom_edit"),
    path("classes/<int:pk>/archive/", views.classroom_archive, name="classroom_archive"),
    path("classes/<int:pk>/unarchive/", views.classroom_unarchive, name="classroom_unarchive"),
    path("classes/<int:pk>/code/", views.join_code_regenerate, name="join_code_regenerate"),
    path("classes/<int:pk>/sign-in-sheet/", views.signin_sheet, name="signin_sheet"),
    # Roster.
    path("classes/<int:pk>/roster/add/", views.roster_add, name="roster_add"),
    path("classes/<int:pk>/roster/confirm/", views.roster_confirm, name="roster_confirm"),
    path("classes/<int:pk>/students/<int:student_pk>/edit/", views.student_edit, name="student_edit"),
    path("classes/<int:pk>/students/<int:student_pk>/pin/", views.student_reset_pin, name="student_reset_pin"),
    path("classes/<int:pk>/students/<int:student_pk>/remove/", views.student_remove, name="student_remove"),
    path("classes/<int:pk>/students/<int:student_pk>/move/", views.student_move, name="student_move"),
    # Co-teachers.
    path("classes/<int:pk>/co-teachers/invite/", views.coteacher_invite, name="coteacher_invite"),
    path("classes/<int:pk>/co-teachers/<int:teacher_pk>/remove/", views.coteacher_remove, name="coteacher_remove"),
    path(
        "classes/<int:pk>/invitations/<int:invitation_pk>/cancel/",
        views.invitation_cancel,
        name="invitation_cancel",
    ),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation"),
    *pairing_urlpatterns,
]

# PDFs (issue 8): class packets and sign-in sheets, see classrooms/urls_pdf.py.
from classrooms.urls_pdf import urlpatterns as pdf_urlpatterns  # noqa: E402

urlpatterns += pdf_urlpatterns

# The teacher's live session (issue 6), see classrooms/urls_live.py.
from classrooms.urls_live import urlpatterns as live_urlpatterns  # noqa: E402

urlpatterns += live_urlpatterns

# Children's privacy (issue 9): a student's data export, see classrooms/urls_privacy.py.
from classrooms.urls_privacy import urlpatterns as privacy_urlpatterns  # noqa: E402

urlpatterns += privacy_urlpatterns
