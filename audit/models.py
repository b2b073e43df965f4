"""Audit models."""
