"""Admin for Invoices."""
