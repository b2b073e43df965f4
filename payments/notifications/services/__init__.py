"""Writes of the notifications capability (docs/notifications.md), one module per sub-domain, two halves
that never meet inside one transaction:

- `outbox` (`notify_*`): written inside the change's transaction by `payments.events`; nothing is sent;
- `delivery`: the worker that sends after commit and retries with backoff, and the owners' retries;
- `inbox`: a person's notifications and channel preferences;
- `common`: the NOTIFY channel that wakes workers.

Callers use this package's names (`from payments.notifications import services`).
"""

from payments.notifications.services.common import WAKE_CHANNEL
from payments.notifications.services.delivery import (
    DispatchResult,
    PermanentFailure,
    deliveries_dispatch,
    deliveries_retry_failed,
    delivery_retry,
    retry_delay,
    worker_run,
)
from payments.notifications.services.inbox import (
    notification_dismiss,
    notification_mark_read,
    notification_preference_update,
    notifications_mark_all_read,
    notifications_mark_read_for_pr,
)
from payments.notifications.services.outbox import (
    batch,
    notify_approvals_requested,
    notify_pr_approved,
    notify_pr_completed,
    notify_pr_rejected,
    notify_step_advanced,
)

__all__ = [
    "WAKE_CHANNEL",
    "DispatchResult",
    "PermanentFailure",
    "batch",
    "deliveries_dispatch",
    "deliveries_retry_failed",
    "delivery_retry",
    "notification_dismiss",
    "notification_mark_read",
    "notification_preference_update",
    "notifications_mark_all_read",
    "notifications_mark_read_for_pr",
    "notify_approvals_requested",
    "notify_pr_approved",
    "notify_pr_completed",
    "notify_pr_rejected",
    "notify_step_advanced",
    "retry_delay",
    "worker_run",
]
