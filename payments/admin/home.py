"""The back office's home page (`admin/home.html`: what needs me, the reports block, then the app list)
and its "what needs me" block: for the signed-in user, a few counts that each link to the changelist
filtered to exactly those rows. A block shows only to users whose roles open that list.

Three queries at most, whatever the data: one aggregate over payment requests, one sum over
the unlinked-invoices rollup (payments.reports.rollups), one count of failed deliveries (owners
only). tests/admin/test_home.py pins it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

admin.site.index_template = "admin/home.html"


@dataclass(frozen=True)
class NeedsMe:
    key: str  # stable id for tests and the browser scenario: needs-me-<key>
    label: str
    count: int
    url: str


def needs_me(user: Any) -> list[NeedsMe]:
    from invoices.models import InvoiceStatus
    from payments.models import PaymentRequestStatus
    from payments.notifications.models import DeliveryStatus, NotificationDelivery
    from payments.reports.queries import unlinked_invoice_count
    from payments.selectors import awaiting, payment_requests_visible_to

    if not (user and user.is_authenticated and user.is_active):
        return []
    items: list[NeedsMe] = []
    prs = reverse("admin:payments_paymentrequest_changelist")
    if user.has_perm("payments.view_paymentrequest"):
        want_drafts = user.has_perm("payments.add_paymentrequest")
        want_approved = user.has_perm("payments.complete_paymentrequest")
        # Only the rows some count can match are read (the status index, not the whole table); the
        # awaiting ones start from the open approval steps (payments.selectors.awaiting).
        wanted = Q(status__in=[PaymentRequestStatus.PENDING, PaymentRequestStatus.APPROVED]) | Q(
            status=PaymentRequestStatus.DRAFT, maker=user
        )
        counts = (
            payment_requests_visible_to(user)
            .filter(wanted)
            .aggregate(
                awaiting=Count("pk", filter=Q(pk__in=awaiting(user).values("pk"))),
                drafts=Count("pk", filter=Q(status=PaymentRequestStatus.DRAFT, maker=user)),
                approved=Count("pk", filter=Q(status=PaymentRequestStatus.APPROVED)),
            )
        )
        items.append(
            NeedsMe(
                "awaiting",
                _("Payment requests awaiting my approval"),
                counts["awaiting"],
                f"{prs}?{urlencode({'awaiting_me': 'yes'})}",
            )
        )
        if want_drafts:
            items.append(
                NeedsMe(
                    "drafts",
                    _("My draft payment requests"),
                    counts["drafts"],
                    f"{prs}?{urlencode({'status__exact': 'draft', 'maker__id__exact': user.pk})}",
                )
            )
        if want_approved:
            items.append(
                NeedsMe(
                    "approved",
                    _("Approved payment requests waiting for payment"),
                    counts["approved"],
                    f"{prs}?{urlencode({'status__exact': 'approved'})}",
                )
            )
    if user.has_perm("invoices.view_invoice") and user.has_perm("payments.add_paymentrequest"):
        # Every imported invoice still to be bundled, whenever it came: what is waiting, not this month's share.
        # From the per-issue-date rollup (payments.reports.rollups): constant, not a scan of the backlog.
        count = unlinked_invoice_count()
        query = urlencode({"status__exact": InvoiceStatus.IMPORTED, "linked": "false"})
        items.append(
            NeedsMe(
                "unlinked",
                _("Imported invoices not yet in a payment request"),
                count,
                f"{reverse('admin:invoices_invoice_changelist')}?{query}",
            )
        )
    if user.is_owner:
        count = NotificationDelivery.objects.filter(status=DeliveryStatus.FAILED).count()
        items.append(
            NeedsMe(
                "failed-deliveries",
                _("Failed notification deliveries"),
                count,
                f"{reverse('admin:notifications_notificationdelivery_changelist')}?"
                f"{urlencode({'status__exact': DeliveryStatus.FAILED})}",
            )
        )
    return items
