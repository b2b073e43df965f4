"""What the invoices app tells the apps above it, without importing them (docs/architecture.md).

`invoices_imported` is sent by the importer inside each batch's transaction, after the batch's invoices are
written (keyword `invoice_ids`): a receiver's writes commit or roll back with the invoices themselves
(`payments.webhooks` records `invoice.imported` events there).

`invoice_marked_obsolete` is sent by `invoices.services.invoice_mark_obsolete` inside its transaction, after the
status is written (keyword `invoice`): `payments.events.invoice_marked_obsolete` records the event there."""

from django.dispatch import Signal

invoices_imported = Signal()
invoice_marked_obsolete = Signal()
