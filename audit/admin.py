"""Admin for Audit."""
