"""Built-in roles and what they grant.

The roles themselves are created by a data migration; their permissions are granted after
every migration (`post_migrate`), because most of them belong to apps that migrate later.
Granting is additive: an owner who widened a built-in role keeps the widening.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.models import OWNER_ROLE

BUILTIN_ROLES: dict[str, Any] = {
    OWNER_ROLE: _("Full administration: users, teams, roles, approval flows and everything else."),
    "finance": _("Finance staff: import invoices, prepare, complete and pay payment requests."),
    "admin": _("Back-office administrator: reads invoices, payment requests and flows, keeps payment methods."),
    "bod": _("Board of directors: reads invoices and payment requests, approves when assigned."),
}

# app_label.codename; permissions of apps that do not exist yet are skipped until they do.
BUILTIN_ROLE_PERMISSIONS: dict[str, list[str]] = {
    "finance": [
        "files.view_storedfile",
        "files.add_storedfile",
        "invoices.view_invoice",
        "invoices.add_invoice",
        "invoices.change_invoice",
        "invoices.view_invoiceservice",
        "payments.view_paymentrequest",
        "payments.add_paymentrequest",
        "payments.change_paymentrequest",
        "payments.delete_paymentrequest",
        "payments.complete_paymentrequest",
        "payments.view_paymentmethod",
        "payments.add_paymentmethod",
        "payments.change_paymentmethod",
        "payments.delete_paymentmethod",
        "approvals.view_approvalflow",
    ],
    "admin": [
        "files.view_storedfile",
        "invoices.view_invoice",
        "invoices.view_invoiceservice",
        "payments.view_paymentrequest",
        "payments.view_paymentmethod",
        "payments.add_paymentmethod",
        "payments.change_paymentmethod",
        "payments.delete_paymentmethod",
        "approvals.view_approvalflow",
        # No audit.view_auditentry: only owners read the audit (issue #9); migration 0005 took it back.
    ],
    "bod": [
        "files.view_storedfile",
        "invoices.view_invoice",
        "invoices.view_invoiceservice",
        "payments.view_paymentrequest",
        "payments.view_paymentmethod",
        "approvals.view_approvalflow",
        "reports.view_reports",
    ],
}


def sync_builtin_role_permissions(sender: Any = None, using: str = "default", **kwargs: Any) -> None:
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    from accounts.models import Role

    for role_name, perms in BUILTIN_ROLE_PERMISSIONS.items():
        role = Role.objects.using(using).filter(name=role_name).first()
        if role is None:
            continue
        wanted = Q(pk__in=[])
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        existing = set(role.permissions.values_list("pk", flat=True))
        missing = Permission.objects.using(using).filter(wanted).exclude(pk__in=existing)
        if missing.exists():
            role.permissions.add(*missing)


def role_description(role: Any) -> str:
    """What a role is for, in the reader's language. A built-in role's description is stored once, in English,
    when the role is made: while it is still that text, the translation is shown; an owner's own words as written."""
    builtin = BUILTIN_ROLES.get(role.name) if role.is_builtin else None
    if builtin is not None:
        with translation.override("en"):
            shipped = str(builtin)
        if role.description == shipped:
            return str(builtin)
    return role.description


def ensure_builtin_roles() -> None:
    """Create missing built-in roles and grant their permissions. The data migration does
    this on a real database; tests that flush tables between runs call it to start over."""
    from accounts.models import Role

    for name, description in BUILTIN_ROLES.items():
        Role.objects.get_or_create(name=name, defaults={"description": str(description), "is_builtin": True})
    sync_builtin_role_permissions()
