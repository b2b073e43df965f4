from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import signals as auth_signals
        from django.db import connections
        from django.db.backends.signals import connection_created

        from audit import connection, signals

        connection_created.connect(connection.install, dispatch_uid="acountee_audit_actor")
        # Connections opened before this app was ready (rare) get it too.
        for conn in connections.all(initialized_only=True):
            connection.install(connection=conn)
        auth_signals.user_logged_in.connect(signals.on_user_logged_in, dispatch_uid="acountee_audit_login")
        auth_signals.user_logged_out.connect(signals.on_user_logged_out, dispatch_uid="acountee_audit_logout")
        auth_signals.user_login_failed.connect(signals.on_user_login_failed, dispatch_uid="acountee_audit_failed")
