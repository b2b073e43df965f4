"""The payment-request page of the back office: the approval chain as a step-by-step panel, the linked
invoices with their total, the attachments with an inline PDF preview, and one button per transition the
signed-in user may take (each calls the service; a refusal becomes an admin message, never a 500).

The payment controls show here too (docs/controls.md): the payee frozen at the approval request, a
new-payee warning and the previous → new account comparison (`#pr-payee`, `#pr-new-payee`,
`#pr-payee-change`), and who prepared the request (`#pr-preparers`: they never approve it). Un-complete
is never one click: its page shows what is reversed and asks for a reason.

Kept apart from `payments/admin/requests.py` (the list, the form and the bulk actions) to keep both small.
Element ids are stable for the browser scenario: `#pr-actions`, `#pr-action-<name>`, `#approval-chain`,
`li.step.state-current`, `#pr-invoices`, `#pr-attachments`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from approvals.models import ApprovalRecord, ApprovalStep, ApprovalStepUser, StepMode
from payments import selectors, services
from payments.admin.attachments import can_attach
from payments.models import PaymentRequest, PaymentRequestPreparer, PaymentRequestStatus, PRAttachment, PRInvoice
from payments.selectors import payment_request_bank_details

S = PaymentRequestStatus
MODE_LABELS = dict(StepMode.choices)
STATE_LABELS = {"done": _("done"), "current": _("awaiting approval"), "waiting": _("waiting")}


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class UncompleteReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_(
            "Why the recorded payment is reversed (the bank returned it, it was recorded on the wrong "
            "request…). Kept in the audit log."
        ),
    )


class ReferenceForm(forms.Form):
    payment_reference = forms.CharField(
        label=_("payment reference"),
        max_length=128,
        required=False,
        help_text=_("The bank's reference of the transfer, if you have it."),
    )


@dataclass(frozen=True)
class PRAction:
    name: str
    label: Any
    done: Any  # past tense for the success message
    form: type[forms.Form] | None = None
    intro: Any = ""
    danger: bool = False
    warning: Any = ""  # shown above the form, in red
    show_payment: bool = False  # the form page shows the payee and the payment reference
    permission: str = ""  # needed to see the page at all (the service checks it again)


ACTIONS: dict[str, PRAction] = {
    a.name: a
    for a in [
        PRAction("request_approval", _("Request approval"), _("sent for approval")),
        PRAction("approve", _("Approve"), _("approved")),
        PRAction(
            "reject",
            _("Reject…"),
            _("rejected"),
            ReasonForm,
            _("It goes back to draft and its approvals are cleared. The maker sees your reason."),
            danger=True,
        ),
        PRAction("retract", _("Retract my approval"), _("approval retracted")),
        PRAction("recall", _("Recall to draft"), _("recalled to draft"), danger=True),
        PRAction(
            "complete",
            _("Complete (paid)…"),
            _("completed"),
            ReferenceForm,
            _("Record that the bank paid it; its invoices become completed."),
            show_payment=True,
            permission="payments.complete_paymentrequest",
        ),
        PRAction(
            "uncomplete",
            _("Un-complete…"),
            _("un-completed"),
            UncompleteReasonForm,
            _(
                "The recorded payment is reversed: the payment reference is cleared and the invoices are reopened. "
                "Your reason is kept in the audit log and among the security events."
            ),
            danger=True,
            warning=_(
                "The request becomes approved and payable again: make sure the bank did not pay it, or that "
                "the payment was returned, before you continue."
            ),
            show_payment=True,
            permission="payments.uncomplete_paymentrequest",
        ),
    ]
}


def available_actions(pr: PaymentRequest, user: Any) -> list[PRAction]:
    """The transitions worth offering `user` on `pr` (the services still decide; this only hides buttons that
    could not succeed). At most two queries."""
    names: list[str] = []
    can_prepare = pr.maker_id == user.pk or user.has_perm("payments.change_paymentrequest")
    can_complete = user.has_perm("payments.complete_paymentrequest")
    can_uncomplete = user.has_perm("payments.uncomplete_paymentrequest")
    if pr.status == S.DRAFT and can_prepare:
        names.append("request_approval")
    if pr.status == S.PENDING and selectors.awaiting(user, PaymentRequest.objects.filter(pk=pr.pk)).exists():
        names += ["approve", "reject"]
    if (
        pr.status in (S.PENDING, S.APPROVED)
        and pr.approval_id is not None
        and ApprovalRecord.objects.filter(approval_id=pr.approval_id, acted_by=user).exists()
    ):
        names.append("retract")
    if pr.status == S.PENDING and pr.maker_id == user.pk:
        names.append("recall")
    if pr.status == S.APPROVED and can_complete:
        names.append("complete")
    if pr.status == S.COMPLETED and can_uncomplete:
        names.append("uncomplete")
    return [ACTIONS[n] for n in names]


def _call(action: str, pr: PaymentRequest, user: Any, data: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    spec = ACTIONS[action]
    if spec.permission and not user.has_perm(spec.permission):
        raise PermissionDenied
    fn = {
        "request_approval": services.payment_request_request_approval,
        "approve": services.payment_request_approve,
        "reject": services.payment_request_reject,
        "retract": services.payment_request_retract,
        "recall": services.payment_request_recall,
        "complete": services.payment_request_complete,
        "uncomplete": services.payment_request_uncomplete,
    }[action]
    return fn, {"pr": pr, "actor": user, **data}


# --- panels ---------------------------------------------------------------------------------------------------
def chain_panel(pr: PaymentRequest) -> SafeString:
    """Each step with its mode, approvers and who approved when (or on whose behalf); the current step is marked.
    A draft that was rejected says by whom, when and why (the records themselves are cleared on rejection)."""
    approval = getattr(pr, "approval", None)
    steps_out: list[dict[str, Any]] = []
    if approval is not None:
        users: dict[int, list[ApprovalStepUser]] = {}
        for su in ApprovalStepUser.objects.filter(step__approval=approval).select_related("user").order_by("id"):
            users.setdefault(su.step_id, []).append(su)
        records = {
            (r.step_id, r.approver_id): r
            for r in ApprovalRecord.objects.filter(approval=approval).select_related("acted_by")
        }
        for step in ApprovalStep.objects.filter(approval=approval).order_by("number"):
            if pr.status in (S.APPROVED, S.COMPLETED):
                state = "done"
            elif pr.status == S.DRAFT:
                state = "waiting"
            else:
                current = approval.current_step
                state = "done" if step.number < current else "current" if step.number == current else "waiting"
            approvers = [
                {"user": su.user, "record": records.get((step.pk, su.user_id))} for su in users.get(step.pk, [])
            ]
            steps_out.append(
                {
                    "number": step.number,
                    "name": step.name,
                    "state": state,
                    "mode": step.mode,
                    "mode_label": MODE_LABELS.get(step.mode, step.mode),
                    "state_label": STATE_LABELS[state],
                    "approvers": approvers,
                    "approved": sum(1 for a in approvers if a["record"]),
                }
            )
    return SafeString(
        render_to_string(
            "admin/payments/chain.html",
            {
                "steps": steps_out,
                "pr": pr,
                "rejection": _last_rejection(pr) if pr.status == S.DRAFT else None,
            },
        )
    )


def _last_rejection(pr: PaymentRequest) -> dict[str, Any] | None:
    """The rejection stored on the request (cleared when approval is requested again)."""
    if pr.rejected_at is None:
        return None  # never rejected, or re-submitted since
    by = pr.rejected_by
    # The person's name, as the rest of the page names people (their e-mail only when they have no name).
    return {"by": str(by) if by is not None else "", "at": pr.rejected_at, "reason": pr.rejection_reason}


def invoices_panel(pr: PaymentRequest, *, editable: bool) -> SafeString:
    links = list(PRInvoice.objects.filter(pr=pr).select_related("invoice").order_by("id"))
    total = sum((link.invoice.total_payable or Decimal(0) for link in links), Decimal(0))
    return SafeString(
        render_to_string(
            "admin/payments/pr_invoice_panel.html",
            {
                "pr": pr,
                "links": links,
                "total": total,
                "editable": editable,
                "difference": (pr.amount - total) if links else None,
                "manage_url": reverse("admin:payments_paymentrequest_invoices", args=[pr.pk]),
            },
        )
    )


def attachments_panel(pr: PaymentRequest, user: Any) -> SafeString:
    rows = list(PRAttachment.objects.filter(pr=pr).select_related("file", "added_by").order_by("id"))
    can_open = user.has_perm("files.view_storedfile")
    editable = can_attach(pr, user)  # attaching: any state; detaching: drafts only (the services' rules)
    can_remove = editable and pr.status == S.DRAFT
    return SafeString(
        render_to_string(
            "admin/payments/pr_attachments.html",
            {
                "rows": [
                    {
                        "attachment": a,
                        "url": reverse("admin:files_storedfile_download", args=[a.file_id]) if can_open else "",
                        "remove_url": reverse(
                            "admin:payments_paymentrequest_attachment_remove", args=[pr.pk, a.file_id]
                        )
                        if can_remove
                        else "",
                    }
                    for a in rows
                ],
                "add_url": reverse("admin:payments_paymentrequest_attachment_add", args=[pr.pk]) if editable else "",
            },
        )
    )


# What a preparer first did to the request (PaymentRequestPreparer.first_action, set by the services).
PREPARER_ACTIONS = {
    "create_pr": _("created it"),
    "update_pr": _("edited it"),
    "link_invoice": _("added an invoice"),
    "unlink_invoice": _("removed an invoice"),
    "move_invoice": _("moved an invoice"),
    "request_approval": _("requested approval"),
    "change_payee": _("changed an invoice's payment details"),
}


def payee_panel(pr: PaymentRequest) -> SafeString:
    """The payee frozen when approval was requested (what the approvers approve and the bank is told to
    pay), a warning when this account was never paid before for the supplier, and the account the supplier
    was last paid to beside the new one when they differ. No query: everything is on the request's row."""
    return SafeString(render_to_string("admin/payments/pr_payee.html", {"pr": pr}))


def preparers_panel(pr: PaymentRequest) -> SafeString:
    """Who prepared the request (made it, changed its payee, amount, invoices or chain, requested its
    approval): none of them may approve it. One query."""
    rows = [
        {"user": p.user, "action": PREPARER_ACTIONS.get(p.first_action, p.first_action), "at": p.added_at}
        for p in PaymentRequestPreparer.objects.filter(pr=pr).select_related("user").order_by("id")
    ]
    return SafeString(render_to_string("admin/payments/pr_preparers.html", {"rows": rows}))


# --- the transition view -------------------------------------------------------------------------------------
class PRActionsMixin:
    """`<id>/action/<name>/`: POST performs the transition; reject, complete and un-complete first show a small
    form (un-complete and complete only to holders of their permission)."""

    admin_site: AdminSite  # of the ModelAdmin this is mixed into

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:object_id>/action/<slug:action>/",
                self.admin_site.admin_view(self.pr_action_view),
                name="payments_paymentrequest_action",
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def pr_action_view(self, request: HttpRequest, object_id: int, action: str) -> HttpResponse:
        spec = ACTIONS.get(action)
        if spec is None:
            raise Http404
        pr = get_object_or_404(self.get_queryset(request), pk=object_id)  # type: ignore[attr-defined]
        back = reverse("admin:payments_paymentrequest_change", args=[pr.pk])
        if spec.permission and not request.user.has_perm(spec.permission):
            raise PermissionDenied  # not even the confirmation page
        if request.method != "POST" and spec.form is None:
            return HttpResponseRedirect(back)
        form = None
        data: dict[str, Any] = {}
        if spec.form is not None:
            form = spec.form(request.POST if request.method == "POST" else None)
            if request.method != "POST" or not form.is_valid():
                return TemplateResponse(
                    request,
                    "admin/payments/pr_action.html",
                    {
                        **self.admin_site.each_context(request),
                        "opts": self.model._meta,  # type: ignore[attr-defined]
                        "original": pr,
                        "title": f"{spec.label} — {pr}".replace("…", ""),
                        "spec": spec,
                        "form": form,
                        "back": back,
                        "payee": payment_request_bank_details(pr) if spec.show_payment else None,
                    },
                )
            data = dict(form.cleaned_data)
        fn, kwargs = _call(action, pr, request.user, data)
        if self.call_service(request, fn, **kwargs) is not None:  # type: ignore[attr-defined]
            messages.success(request, gettext("Payment request #%(id)d: %(done)s.") % {"id": pr.pk, "done": spec.done})
        return HttpResponseRedirect(back)
