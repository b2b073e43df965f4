"""Writes of the webhooks capability (docs/webhooks.md):

- `recording`: events and their pending deliveries, inside the change's transaction (`payments.events`, the
  invoice importer's signal); nothing is sent;
- `delivery`: the worker's pass that sends after commit and retries with backoff;
- `endpoints`: owners' endpoints and redeliveries;
- `common`: the NOTIFY channel and the signature.
"""

from payments.webhooks.services.common import WAKE_CHANNEL, signature_header
from payments.webhooks.services.delivery import (
    WebhookDispatchResult,
    event_body,
    retry_delay,
    webhook_deliveries_dispatch,
    webhook_pass,
)
from payments.webhooks.services.endpoints import (
    webhook_deliveries_redeliver,
    webhook_delivery_redeliver,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
    webhook_url_check,
)
from payments.webhooks.services.recording import (
    batch,
    events_write,
    record_approvals_requested,
    record_invoice_event,
    record_invoices_imported,
    record_pr_event,
)

__all__ = [
    "WAKE_CHANNEL",
    "WebhookDispatchResult",
    "batch",
    "event_body",
    "events_write",
    "record_approvals_requested",
    "record_invoice_event",
    "record_invoices_imported",
    "record_pr_event",
    "retry_delay",
    "signature_header",
    "webhook_deliveries_dispatch",
    "webhook_deliveries_redeliver",
    "webhook_delivery_redeliver",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_rotate_secret",
    "webhook_endpoint_update",
    "webhook_pass",
    "webhook_url_check",
]
