"""Admin for Payments."""
