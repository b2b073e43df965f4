"""Approvals models."""
