from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import User


@admin.register(User)
class PopUserAdmin(UserAdmin):
    list_display = ("username", "display_name", "email", "role", "is_staff")
    list_filter = ("role", "is_staff", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Havruta", {"fields": ("role", "display_name", "language")}))
