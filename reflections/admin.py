from django.contrib import admin

from reflections.models import ClassPortrait, Portrait, Reflection, ReflectionLock


@admin.register(Reflection)
class ReflectionAdmin(admin.ModelAdmin):
    list_display = ("student", "session", "submitted_at", "locked", "send_appreciation")
    list_filter = ("locked",)
    raw_id_fields = (
        "student",
        "session",
        "havruta",
        "reflection_version",
        "assessment_version",
        "intentions_session",
        "previous_goal_from",
    )
    search_fields = ("student__display_name",)


@admin.register(ReflectionLock)
class ReflectionLockAdmin(admin.ModelAdmin):
    list_display = ("session", "locked_by", "locked_at")
    raw_id_fields = ("session", "locked_by")


@admin.register(Portrait)
class PortraitAdmin(admin.ModelAdmin):
    list_display = ("student", "created_at", "updated_at")
    raw_id_fields = ("student", "protocol_version")


@admin.register(ClassPortrait)
class ClassPortraitAdmin(admin.ModelAdmin):
    list_display = ("classroom", "updated_at")
    raw_id_fields = ("classroom", "updated_by")
