"""Websocket routes of the classrooms app (the teacher's live dashboard, later)."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
