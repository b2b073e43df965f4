"""Invoices models."""
