"""WSGI entry point. Refuses to start when the database is unreachable (docs/operations.md)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "acountee.settings")

application = get_wsgi_application()

from acountee.db.startup import check_database_reachable  # noqa: E402

check_database_reachable()
