"""Liveness and readiness probes for load balancers and orchestrators."""

from typing import Any

from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from acountee.db.errors import domain_error
from acountee.db.router import replica_status


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up. Never touches the database."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """The database answers a query (docs/operations.md, "Health checks"). With a replica (PGURI_REPLICA),
    its lag in seconds and bytes and whether reads go to it now; a replica in trouble never makes this 503:
    the reads go to the primary (docs/deployment.md)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # Unreachable, or this process's pool exhausted for DB_POOL_TIMEOUT: either way, not ready.
        failure = domain_error(exc)
        code = failure.error.code if failure else "DATABASE_ERROR"
        return JsonResponse({"status": "unavailable", "database": "unreachable", "code": code}, status=503)
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    status = replica_status(fresh=True)
    if status is not None:
        body["replica"] = status.as_dict()
    return JsonResponse(body)
