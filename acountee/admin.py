"""Project-wide admin site settings: the name in the header and the one home page template
(`admin/acountee_index.html`: "what needs me", then the reports block, then the app list).
Loaded by admin autodiscovery like every app's admin module."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("Acountee back office")
admin.site.site_title = _("Acountee")
admin.site.index_title = _("Home")
admin.site.index_template = "admin/acountee_index.html"
