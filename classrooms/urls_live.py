"""URLs of the teacher's live session (issue 6) and of the two things a havruta does in it."""

from django.urls import URLPattern, path

from classrooms import views_live as views

urlpatterns: list[URLPattern] = [
    # The teacher's live page of a class (its current session).
    path("classes/<int:pk>/live/", views.live, name="live"),
    # One session's live actions.
    path("pairings/<int:pk>/live/worksheets/<int:worksheet_pk>/panel/", views.live_panel, name="live_panel"),
    path("pairings/<int:pk>/live/worksheets/<int:worksheet_pk>/comments/", views.live_comment, name="live_comment"),
    path("pairings/<int:pk>/live/broadcast/", views.live_broadcast, name="live_broadcast"),
    path("pairings/<int:pk>/live/timer/", views.live_timer, name="live_timer"),
    path("pairings/<int:pk>/live/help/<int:help_pk>/resolve/", views.live_help_resolve, name="live_help_resolve"),
    path("pairings/<int:pk>/live/end/", views.live_end, name="live_end"),
    path("pairings/<int:pk>/live/summary/", views.live_summary, name="live_summary"),
    # The havruta, from its worksheet page.
    path("live/worksheets/<int:worksheet_pk>/help/", views.live_help, name="live_help"),
    path(
        "live/worksheets/<int:worksheet_pk>/comments/<int:comment_pk>/done/",
        views.live_comment_done,
        name="live_comment_done",
    ),
]
