"""Admin for Approvals."""
