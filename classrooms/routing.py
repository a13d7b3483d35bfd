"""Websocket routes of the classrooms app: the teacher's live dashboard and each worksheet's class events."""

from django.urls import URLPattern, re_path

from classrooms.consumers_live import LiveDashboardConsumer, WorksheetEventsConsumer

websocket_urlpatterns: list[URLPattern] = [
    re_path(r"^ws/classes/(?P<classroom_id>\d+)/live/?$", LiveDashboardConsumer.as_asgi(), name="live_dashboard"),
    re_path(
        r"^ws/worksheets/(?P<worksheet_id>\d+)/events/?$", WorksheetEventsConsumer.as_asgi(), name="worksheet_events"
    ),
]
