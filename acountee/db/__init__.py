"""Database bootstrap: the embedded server, connection settings and the start-up check."""
