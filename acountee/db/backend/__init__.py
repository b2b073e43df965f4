"""Django's PostgreSQL backend with the pool of `acountee.db.pool` (ENGINE = "acountee.db.backend")."""
