"""Project-wide admin site settings: the name in the header and the titles. The home page (what needs
me, the reports block, the app list) is the payments app's (payments/admin/home.py). Loaded by admin
autodiscovery like every app's admin module."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("Acountee back office")
admin.site.site_title = _("Acountee")
admin.site.index_title = _("Home")
# No public site behind the back office: Django's "View site" link in the header led to a 404.
admin.site.site_url = None
