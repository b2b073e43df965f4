"""Admin pages accounts replaces, routed before the admin's own (acountee/urls.py): the signed-in user's
own password change saves through accounts.services (a security event), not the admin's form."""

from django.contrib import admin
from django.urls import URLPattern, path

from accounts.admin import own_password_change

urlpatterns: list[URLPattern] = [
    path("password_change/", admin.site.admin_view(own_password_change)),
]
