"""What a scoped token may reach (service accounts, docs/security.md "Service accounts"). No Django models.

A token without scopes (a person's) may do whatever its user may. A scoped token is limited by method and
path *before* the user's permissions are looked at — both must allow a call. No scope reaches an approval,
a rejection, a payment or any administration: "approve never" holds by construction, whatever roles an
owner gives the account (and the approval engine refuses service accounts as well)."""

from __future__ import annotations

from collections.abc import Iterable

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IMPORT_PATHS = ("/api/invoices/import/",)
EXPORT_PREFIXES = ("/api/workbench/export/", "/api/reports/", "/api/audit/export/")


def scope_allows(scopes: Iterable[str], method: str, path: str) -> bool:
    scopes = set(scopes)
    if not scopes:
        return True
    method = method.upper()
    if method in SAFE_METHODS:
        return "read" in scopes or ("export" in scopes and path.startswith(EXPORT_PREFIXES))
    return "import" in scopes and method == "POST" and path in IMPORT_PATHS
