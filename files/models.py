"""Files models."""
