"""The back office of payment requests (docs/admin.md): the request list and page, its invoices and
attachments, the invoice list's "put in a payment request" actions, and the payment methods."""

from payments.admin import home, invoices, methods, requests

__all__ = ["home", "invoices", "methods", "requests"]
