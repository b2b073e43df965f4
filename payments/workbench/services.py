"""Writes of the workbench: mark a month's leftover invoices obsolete, complete paid PRs from
a bank file, keep export templates. Each delegates the actual transition to the owning app's
service (invoices: bulk obsolete; approvals: PR complete), so the state machines, row locks,
audit entries and events stay theirs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from acountee.errors import Duplicate, PermissionDeniedError, ValidationFailed
from payments.models import PaymentRequest, PaymentRequestStatus
from payments.workbench.exports import COLUMNS, FORMULA_PREFIXES
from payments.workbench.imports import RawRow, read_paid_file
from payments.workbench.models import ExportTemplate

if TYPE_CHECKING:
    from accounts.models import User

CAPABILITY = "workbench"
MAX_CLEANUP_IDS = 5000
MAX_REFERENCE = 128


def ensure_workbench_access(user: Any) -> None:
    """The workbench is for teams holding the `workbench` capability (owners always)."""
    if not user or not getattr(user, "is_authenticated", False) or not user.has_capability(CAPABILITY):
        raise PermissionDeniedError(
            _("The period-end workbench needs the workbench capability of your team."), code="NO_WORKBENCH_ACCESS"
        )


def _ensure_perm(actor: User, perm: str, message: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDeniedError(message, code="PERMISSION_DENIED")


# --- invoice cleanup ----------------------------------------------------------------------------
def cleanup_mark_obsolete(*, ids: Iterable[int], actor: User) -> list[dict[str, Any]]:
    """Mark many invoices obsolete, each in its own transaction (the invoices app's bulk
    service); the answer has one entry per id: `{"id", "result": "obsolete"|"failed", ...}`."""
    ensure_workbench_access(actor)
    _ensure_perm(actor, "invoices.change_invoice", _("You cannot change invoices."))
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ValidationFailed(_("Choose at least one invoice."), code="NO_IDS", details={"ids": [_("Required.")]})
    if len(ids) > MAX_CLEANUP_IDS:
        raise ValidationFailed(_("At most %(n)d invoices at once.") % {"n": MAX_CLEANUP_IDS}, code="TOO_MANY_IDS")
    from invoices.services import invoices_bulk_mark_obsolete

    outcome = invoices_bulk_mark_obsolete(ids=ids, actor=actor)
    failed = {f["id"]: f for f in outcome["failed"]}
    results = []
    for invoice_id in ids:
        if invoice_id in failed:
            results.append(
                {
                    "id": invoice_id,
                    "result": "failed",
                    "code": failed[invoice_id]["code"],
                    "message": failed[invoice_id]["message"],
                }
            )
        else:
            results.append({"id": invoice_id, "result": "obsolete", "code": "", "message": ""})
    return results


# --- export templates ---------------------------------------------------------------------------
def clean_template_columns(columns: Any) -> list[dict[str, str]]:
    """`[{key, label?}]` or bare keys → `[{key, label}]`; unknown, repeated or empty is refused."""
    if not isinstance(columns, list) or not columns:
        raise ValidationFailed(_("Choose at least one column."), details={"columns": [_("A non-empty list.")]})
    if len(columns) > len(COLUMNS):
        raise ValidationFailed(_("Too many columns."), details={"columns": [_("Each column at most once.")]})
    cleaned: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, item in enumerate(columns):
        if isinstance(item, str):
            item = {"key": item}
        if not isinstance(item, dict) or set(item) - {"key", "label"}:
            raise ValidationFailed(_("Each column is {key, label}."), details={"columns": {i: [_("Invalid.")]}})
        key, label = item.get("key"), item.get("label")
        if not isinstance(key, str) or key not in COLUMNS:  # {"key": {}} is unhashable: a 400, not a 500
            raise ValidationFailed(
                _("Unknown column %(key)s.") % {"key": str(key)[:40]},
                code="UNKNOWN_COLUMN",
                details={"columns": {i: [_("Unknown column.")]}, "known": list(COLUMNS)},
            )
        if key in seen:
            raise ValidationFailed(
                _("Column %(key)s is listed twice.") % {"key": key},
                code="DUPLICATE_COLUMN",
                details={"columns": {i: [_("Listed twice.")]}},
            )
        seen.add(key)
        label = str(label).strip() if label not in (None, "") else str(COLUMNS[key].label)
        if len(label) > 100 or not label:
            raise ValidationFailed(
                _("Header labels are at most 100 characters."), details={"columns": {i: [_("Too long.")]}}
            )
        cleaned.append({"key": key, "label": label})
    return cleaned


def _clean_name(name: object) -> str:
    name = str(name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(
            _("A name of at most 100 characters is required."), details={"name": [_("1 to 100 characters.")]}
        )
    return name


def _save_template(template: ExportTemplate) -> ExportTemplate:
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise Duplicate(
            _("You already have a template with this name."),
            code="TEMPLATE_NAME_TAKEN",
            details={"name": [_("Already used.")]},
        ) from None
    return template


def export_template_create(*, actor: User, name: str, columns: Any) -> ExportTemplate:
    ensure_workbench_access(actor)
    return _save_template(ExportTemplate(user=actor, name=_clean_name(name), columns=clean_template_columns(columns)))


def export_template_update(
    *, template: ExportTemplate, actor: User, name: Any = None, columns: Any = None
) -> ExportTemplate:
    ensure_workbench_access(actor)
    if template.user_id != actor.pk:
        raise PermissionDeniedError(_("This is not your template."), code="NOT_YOUR_TEMPLATE")
    if name is not None:
        template.name = _clean_name(name)
    if columns is not None:
        template.columns = clean_template_columns(columns)
    return _save_template(template)


def export_template_delete(*, template: ExportTemplate, actor: User) -> None:
    ensure_workbench_access(actor)
    if template.user_id != actor.pk:
        raise PermissionDeniedError(_("This is not your template."), code="NOT_YOUR_TEMPLATE")
    with transaction.atomic():
        ExportTemplate.objects.filter(pk=template.pk).delete()


def export_layout(*, template: ExportTemplate | None, machine: bool = False) -> list[dict[str, str]]:
    """The columns of an export: the template's, under its own headers (re-validated: column keys may have
    been retired since it was saved), or the default layout (headed by the keys when `machine`)."""
    from payments.workbench.exports import default_layout

    if template is None:
        return default_layout(machine=machine)
    columns = [c for c in template.columns if isinstance(c, dict) and c.get("key") in COLUMNS]
    return columns or default_layout(machine=machine)


# --- paid-PR import -----------------------------------------------------------------------------
class RowStatus:
    OK = "ok"
    INVALID_ID = "invalid_id"
    UNKNOWN_PR = "unknown_pr"
    NOT_APPROVED = "not_approved"
    DUPLICATE_ROW = "duplicate_row"
    EMPTY_REFERENCE = "empty_reference"
    REFERENCE_TOO_LONG = "reference_too_long"
    INVALID_REFERENCE = "invalid_reference"
    COMPLETED_OTHER_REFERENCE = "already_completed_other_reference"
    ALREADY_COMPLETED = "already_completed"  # same reference: nothing to do


ROW_MESSAGES = {
    RowStatus.OK: gettext_noop("Ready to complete."),
    RowStatus.INVALID_ID: gettext_noop("The PR id is not a number."),
    RowStatus.UNKNOWN_PR: gettext_noop("No payment request has this id."),
    RowStatus.NOT_APPROVED: gettext_noop("The payment request is not approved."),
    RowStatus.DUPLICATE_ROW: gettext_noop("This PR is already in an earlier row of the file."),
    RowStatus.EMPTY_REFERENCE: gettext_noop("The payment reference is empty."),
    RowStatus.REFERENCE_TOO_LONG: gettext_noop("The payment reference is longer than 128 characters."),
    RowStatus.INVALID_REFERENCE: gettext_noop(
        "The payment reference looks like a spreadsheet formula or holds control characters."
    ),
    RowStatus.COMPLETED_OTHER_REFERENCE: gettext_noop("Already completed with another payment reference."),
    RowStatus.ALREADY_COMPLETED: gettext_noop("Already completed with this reference: nothing to do."),
}


@dataclass
class ImportRow:
    row: int
    pr_id: str
    payment_reference: str
    status: str
    message: str
    result: str = ""  # after an import: completed | unchanged | skipped | failed
    code: str = ""
    current_reference: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "pr_id": self.pr_id,
            "payment_reference": self.payment_reference,
            "status": self.status,
            "message": self.message,
            "result": self.result,
            "code": self.code,
            "current_reference": self.current_reference,
        }


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[ImportRow] = field(default_factory=list)

    @property
    def statuses(self) -> dict[str, int]:
        return dict(Counter(r.status for r in self.rows))

    @property
    def results(self) -> dict[str, int]:
        return dict(Counter(r.result for r in self.rows if r.result))

    @property
    def changed(self) -> int:
        return sum(1 for r in self.rows if r.result == "completed")

    @property
    def message(self) -> str:
        if self.dry_run:
            ready = sum(1 for r in self.rows if r.status == RowStatus.OK)
            return _("Preview: %(ready)d of %(total)d rows would complete a payment request.") % {
                "ready": ready,
                "total": len(self.rows),
            }
        if not self.changed:
            return _("Nothing changed: no row completed a payment request (already done or refused).")
        return _("%(n)d payment requests completed.") % {"n": self.changed}

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "total_rows": len(self.rows),
            "statuses": self.statuses,
            "results": self.results,
            "completed": self.changed,
            "changed": bool(self.changed),
            "message": self.message,
            "rows": [r.as_dict() for r in self.rows],
        }


def _validate(raw: list[RawRow]) -> list[ImportRow]:
    """One status per row against the database as it is now (one query per 5,000 ids)."""
    ids: set[int] = set()
    for r in raw:
        if r.pr_id.isascii() and r.pr_id.isdigit() and len(r.pr_id) <= 18:
            ids.add(int(r.pr_id))
    found: dict[int, tuple[str, str]] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start : start + 5000]
        for pk, status, reference in PaymentRequest.objects.filter(pk__in=chunk).values_list(
            "id", "status", "payment_reference"
        ):
            found[pk] = (status, reference)
    seen: set[int] = set()
    rows: list[ImportRow] = []
    for r in raw:
        current = ""
        pr_id = r.pr_id
        if not (pr_id.isascii() and pr_id.isdigit() and len(pr_id) <= 18):
            status = RowStatus.INVALID_ID
        elif int(pr_id) in seen:
            status = RowStatus.DUPLICATE_ROW
        else:
            pk = int(pr_id)
            seen.add(pk)
            if pk not in found:
                status = RowStatus.UNKNOWN_PR
            elif not r.payment_reference:
                status = RowStatus.EMPTY_REFERENCE
            elif len(r.payment_reference) > MAX_REFERENCE:
                status = RowStatus.REFERENCE_TOO_LONG
            elif r.payment_reference.startswith(FORMULA_PREFIXES) or not r.payment_reference.isprintable():
                status = RowStatus.INVALID_REFERENCE
            else:
                pr_status, current = found[pk]
                if pr_status == PaymentRequestStatus.COMPLETED:
                    status = (
                        RowStatus.ALREADY_COMPLETED
                        if current == r.payment_reference
                        else RowStatus.COMPLETED_OTHER_REFERENCE
                    )
                elif pr_status != PaymentRequestStatus.APPROVED:
                    status = RowStatus.NOT_APPROVED
                else:
                    status = RowStatus.OK
        rows.append(
            ImportRow(
                row=r.number,
                pr_id=pr_id[:40],
                payment_reference=r.payment_reference[:200],
                status=status,
                message=_(ROW_MESSAGES[status]),
                current_reference=current,
            )
        )
    return rows


def paid_import(*, upload: Any, actor: User, dry_run: bool) -> ImportReport:
    """Read a paid file and (unless `dry_run`) complete each `ok` row's PR with its reference
    through `payments.services.payment_request_complete`, each row in its own transaction:
    one refusal (the PR changed meanwhile) never undoes or blocks the others. Rows already
    completed with the same reference are `unchanged`, so re-running a file changes nothing."""
    ensure_workbench_access(actor)
    if not dry_run:
        _ensure_perm(actor, "payments.complete_paymentrequest", _("Only finance staff can complete payment requests."))
    report = ImportReport(dry_run=dry_run, rows=_validate(read_paid_file(upload)))
    if dry_run:
        return report
    from payments.services import payment_requests_complete_many

    todo: dict[int, ImportRow] = {}
    for row in report.rows:
        if row.status == RowStatus.ALREADY_COMPLETED:
            row.result = "unchanged"
        elif row.status != RowStatus.OK:
            row.result, row.code = "skipped", row.status.upper()
        else:
            todo[int(row.pr_id)] = row
    # One path with the single complete: each PR is checked under its row lock and refused on
    # its own (the PR may have changed since the preview); batches keep the locks short.
    outcome = payment_requests_complete_many(
        references={pk: row.payment_reference for pk, row in todo.items()},
        actor=actor,
    )
    for pk, row in todo.items():
        refusal = outcome.get(pk)
        if refusal is None:
            row.result, row.message = "completed", _("Completed.")
        else:
            row.result, row.code, row.message = "failed", refusal.code, str(refusal.message)
    return report
