"""The framework floor of the PR list, for `bench/load.py` only (`bench/load_settings.py`).

`GET /bench/floor/payment-requests/?page=&page_size=`: the same rows as
`GET /api/payment-requests/` (same fields, joins and step count, newest first, same page
size), read with one `.values()` query and returned by `JsonResponse` behind the same token
authentication: what a minimal Django view costs, without DRF, filters, scoping or counting.
"""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.authentication import TokenAuthentication
from acountee.urls import urlpatterns as production_urlpatterns
from approvals.models import ApprovalStep
from payments.api.serializers import LIST_ROW_FIELDS
from payments.models import PaymentRequest


def floor_pr_list(request: HttpRequest) -> JsonResponse:
    try:
        auth = TokenAuthentication().authenticate(Request(request))
    except AuthenticationFailed:
        auth = None
    if auth is None:
        return JsonResponse({"detail": "unauthenticated"}, status=401)
    page = max(1, int(request.GET.get("page", "1")))
    size = min(500, max(1, int(request.GET.get("page_size", "50"))))
    step_count = (
        ApprovalStep.objects.filter(approval_id=OuterRef("approval_id"))
        .order_by()
        .values("approval_id")
        .annotate(n=Count("id"))
        .values("n")[:1]
    )
    rows = list(
        PaymentRequest.objects.annotate(step_count=Coalesce(Subquery(step_count), 0))
        .order_by("-id")
        .values(*LIST_ROW_FIELDS)[(page - 1) * size : page * size]
    )
    return JsonResponse({"results": rows}, encoder=DjangoJSONEncoder)


urlpatterns = [*production_urlpatterns, path("bench/floor/payment-requests/", floor_pr_list)]
handler404 = "acountee.views.page_not_found"
handler500 = "acountee.views.server_error"
