"""Admin for Files."""
