"""Websocket routes of the worksheets app (live co-editing, see PROTOCOL.md)."""

from django.urls import URLPattern, re_path

from worksheets.consumers import WorksheetConsumer

websocket_urlpatterns: list[URLPattern] = [
    re_path(r"^ws/worksheets/(?P<worksheet_id>\d+)/?$", WorksheetConsumer.as_asgi(), name="worksheet_shared"),
    re_path(
        r"^ws/worksheets/(?P<worksheet_id>\d+)/students/(?P<student_id>\d+)/?$",
        WorksheetConsumer.as_asgi(),
        name="worksheet_personal",
    ),
]
