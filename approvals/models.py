"""The approval engine's tables (docs/approvals.md): approval chains, the flow templates they are
copied from, and approver delegation.

A document owns one `Approval` (a one-to-one link on the document's side: the engine knows nothing
of what it approves) with ordered `ApprovalStep`s; each step names its approvers
(`ApprovalStepUser`) and collects `ApprovalRecord`s. Flows are templates: a document copies the
steps of the flow for its amount when approval is requested (a draft shows them as a preview),
so later edits to the flow never change a chain in flight.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


class StepMode(models.TextChoices):
    ANYOF = "anyof", _("Any one of the approvers")
    ALLOF = "allof", _("All of the approvers")


class ApprovalFlow(models.Model):
    """A named, reusable chain that owners maintain; optionally it applies to an amount range
    ([min, max), either end open): a request's amount, not its maker, decides its chain. Active
    flows' ranges never overlap (a database exclusion constraint), so the choice is unique."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    min_amount = models.DecimalField(
        _("minimum amount (inclusive)"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    max_amount = models.DecimalField(
        _("maximum amount (exclusive)"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "approval_flows"
        ordering = ["name"]
        verbose_name = _("approval flow")
        verbose_name_plural = _("approval flows")
        constraints = [
            models.CheckConstraint(
                condition=Q(min_amount__isnull=True) | Q(max_amount__isnull=True) | Q(min_amount__lt=F("max_amount")),
                name="approval_flows_range_ordered",
            ),
            ExclusionConstraint(
                name="approval_flows_active_ranges_disjoint",
                expressions=[
                    (
                        Func(F("min_amount"), F("max_amount"), models.Value("[)"), function="numrange"),
                        RangeOperators.OVERLAPS,
                    ),
                ],
                condition=Q(is_active=True) & (Q(min_amount__isnull=False) | Q(max_amount__isnull=False)),
                violation_error_message=_("The amount range overlaps another active flow."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ApprovalFlowStep(models.Model):
    """One step of a flow template."""

    flow = models.ForeignKey(ApprovalFlow, verbose_name=_("flow"), on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveSmallIntegerField(_("number"))
    name = models.CharField(_("name"), max_length=200)
    mode = models.CharField(_("mode"), max_length=8, choices=StepMode.choices, default=StepMode.ANYOF)
    approvers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("approvers"), through="ApprovalFlowStepUser", related_name="+"
    )

    class Meta:
        db_table = "approval_flow_steps"
        ordering = ["flow", "number"]
        verbose_name = _("flow step")
        verbose_name_plural = _("flow steps")
        constraints = [
            models.UniqueConstraint(fields=["flow", "number"], name="approval_flow_steps_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="approval_flow_steps_number_positive"),
            models.CheckConstraint(condition=Q(mode__in=["anyof", "allof"]), name="approval_flow_steps_mode_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"


class ApprovalFlowStepUser(models.Model):
    """An approver named on a flow step, or an alternate: alternates are copied into a request's
    chain only in place of approvers who cannot approve that request (they prepared it, or are
    inactive with no substitute) — the documented way through for a chief accountant's own request."""

    step = models.ForeignKey(
        ApprovalFlowStep, verbose_name=_("step"), on_delete=models.CASCADE, related_name="step_users"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approver"), on_delete=models.PROTECT, related_name="+"
    )
    is_alternate = models.BooleanField(_("alternate"), default=False, db_default=False)
    added_at = models.DateTimeField(_("added at"), auto_now_add=True, db_default=Now())

    class Meta:
        db_table = "approval_flow_step_users"
        ordering = ["step", "id"]
        verbose_name = _("flow step approver")
        verbose_name_plural = _("flow step approvers")
        constraints = [models.UniqueConstraint(fields=["step", "user"], name="approval_flow_step_users_unique")]

    def __str__(self) -> str:
        return str(self.user)


class Approval(models.Model):
    """The chain of one document. `current_step` is 0 while the document is prepared, the number of
    the step awaiting approval while it is pending, and the last step's number once approved.
    Locked after the document's row (lock order document → approval → steps/records).

    Timing facts, written by the services in the transaction of the change (docs/approvals.md,
    "Timing"): `requested_at` when the current cycle was requested (None while prepared; a reset
    clears it, a new request starts a new cycle), `completed_at` when its last step was satisfied
    (None until then, and again after a retraction)."""

    flow = models.ForeignKey(
        ApprovalFlow,
        verbose_name=_("copied from flow"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    current_step = models.PositiveSmallIntegerField(_("current step"), default=0)
    # Set by hand (inline steps or a chosen flow) by someone holding approvals.customize_chain;
    # otherwise the chain is rebuilt from the amount's flow when approval is requested.
    is_custom = models.BooleanField(_("custom chain"), default=False, db_default=False)
    requested_at = models.DateTimeField(_("approval requested at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("approval completed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "approval"
        verbose_name = _("approval chain")
        verbose_name_plural = _("approval chains")
        permissions = [("customize_chain", _("Can give a payment request a custom approval chain"))]
        indexes = [
            # The chains waiting for approval, longest-waiting first (the admin home's oldest pending).
            models.Index(
                fields=["requested_at", "id"],
                name="approval_waiting_idx",
                condition=Q(requested_at__isnull=False, completed_at__isnull=True),
            ),
            # Chains completed in a period (the approval cycle-time report).
            models.Index(
                fields=["completed_at"], name="approval_completed_idx", condition=Q(completed_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pk} @ {self.current_step}"


class ApprovalStep(models.Model):
    """One step of a document's own chain (a copy, never a reference to the flow).

    `started_at`: when it became the step awaiting approval (the request for the first step, the
    previous step's completion for the others); `completed_at`: when it was satisfied (its last
    needed approval). A step is the open step of a running chain exactly when it has started and
    not completed; the services keep both in step with `Approval.current_step`."""

    approval = models.ForeignKey(
        Approval, verbose_name=_("approval chain"), on_delete=models.CASCADE, related_name="steps"
    )
    number = models.PositiveSmallIntegerField(_("number"))
    name = models.CharField(_("name"), max_length=200)
    mode = models.CharField(_("mode"), max_length=8, choices=StepMode.choices, default=StepMode.ANYOF)
    approvers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("approvers"), through="ApprovalStepUser", related_name="+"
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        db_table = "approval_steps"
        ordering = ["approval", "number"]
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")
        constraints = [
            models.UniqueConstraint(fields=["approval", "number"], name="approval_steps_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="approval_steps_number_positive"),
            models.CheckConstraint(condition=Q(mode__in=["anyof", "allof"]), name="approval_steps_mode_valid"),
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True) | Q(started_at__isnull=False),
                name="approval_steps_completed_after_start",
            ),
        ]
        indexes = [
            # The open steps of running chains: the approvers' queues start here, not at every chain.
            models.Index(
                fields=["approval"],
                name="approval_steps_open_idx",
                condition=Q(started_at__isnull=False, completed_at__isnull=True),
            ),
            # Steps completed in a period (the approval cycle-time report, per step).
            models.Index(
                fields=["completed_at"], name="approval_steps_completed_idx", condition=Q(completed_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"


class ApprovalStepUser(models.Model):
    """An approver assigned to a step of a document's chain."""

    step = models.ForeignKey(ApprovalStep, verbose_name=_("step"), on_delete=models.CASCADE, related_name="step_users")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approver"),
        on_delete=models.PROTECT,
        related_name="approval_step_assignments",
    )
    added_at = models.DateTimeField(_("added at"), auto_now_add=True, db_default=Now())

    class Meta:
        db_table = "approval_step_users"
        ordering = ["step", "id"]
        verbose_name = _("step approver")
        verbose_name_plural = _("step approvers")
        constraints = [models.UniqueConstraint(fields=["step", "user"], name="approval_step_users_unique")]
        indexes = [models.Index(fields=["user", "step"], name="approval_step_users_user_idx")]

    def __str__(self) -> str:
        return str(self.user)


class ApprovalRecord(models.Model):
    """One approval given on one step. `approver` is whose place on the step it fills;
    `acted_by` is who clicked (a delegate acting for an absent approver, or the approver).
    The database refuses a second record for the same place or the same person on a step,
    whatever the application does. Reject and recall delete the records; the audit keeps them."""

    approval = models.ForeignKey(
        Approval, verbose_name=_("approval chain"), on_delete=models.CASCADE, related_name="records"
    )
    step = models.ForeignKey(ApprovalStep, verbose_name=_("step"), on_delete=models.CASCADE, related_name="records")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("on behalf of"), on_delete=models.PROTECT, related_name="+"
    )
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        related_name="approval_records",
    )
    approved_at = models.DateTimeField(_("approved at"), auto_now_add=True)

    class Meta:
        db_table = "approval_records"
        ordering = ["step__number", "approved_at", "id"]
        verbose_name = _("approval record")
        verbose_name_plural = _("approval records")
        constraints = [
            models.UniqueConstraint(fields=["step", "approver"], name="approval_records_step_approver_unique"),
            models.UniqueConstraint(fields=["step", "acted_by"], name="approval_records_step_actor_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.step_id}: {self.acted_by_id} for {self.approver_id}"

    @property
    def is_delegated(self) -> bool:
        return self.approver_id != self.acted_by_id


class ApprovalDelegation(models.Model):
    """An approver's substitute for a date range (leave). While it runs (both dates
    inclusive, company time zone) the substitute may act on the approver's steps."""

    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approver"), on_delete=models.CASCADE, related_name="delegations_given"
    )
    substitute = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("substitute"),
        on_delete=models.CASCADE,
        related_name="delegations_received",
    )
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until (inclusive)"))
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        db_table = "approval_delegations"
        ordering = ["-start_date", "id"]
        verbose_name = _("approval delegation")
        verbose_name_plural = _("approval delegations")
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="approval_delegations_dates"),
            models.CheckConstraint(condition=~Q(approver=F("substitute")), name="approval_delegations_not_self"),
        ]
        indexes = [models.Index(fields=["substitute", "start_date", "end_date"], name="approval_delegations_sub_idx")]

    def __str__(self) -> str:
        return f"{self.approver} → {self.substitute} ({self.start_date} - {self.end_date})"
