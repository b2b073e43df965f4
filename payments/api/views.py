"""Payment methods (docs/payments.md) and the invoice ↔ PR link endpoints, which are routed under
`/api/invoices/{id}/…` (API.md) but belong to payments: the link table is ours."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.authentication import api_user
from acountee.api.permissions import SignedInPermission
from acountee.api.viewsets import APIView, ModelViewSet
from acountee.errors import NotFoundError
from acountee.search import SearchTextFilter
from payments import selectors, services
from payments.api.serializers import InvoiceLinkResultSerializer, InvoiceLinkSerializer, PaymentMethodSerializer
from payments.models import PaymentMethod, PaymentRequest
from payments.selectors import PAYMENT_METHOD_SEARCH_FIELDS


class PaymentMethodFilter(django_filters.FilterSet):
    q = SearchTextFilter(fields=PAYMENT_METHOD_SEARCH_FIELDS)
    search = SearchTextFilter(fields=PAYMENT_METHOD_SEARCH_FIELDS, help_text="Same as q (kept for existing clients).")

    class Meta:
        model = PaymentMethod
        fields = ["q", "search"]


@extend_schema(tags=["payment methods"])
class PaymentMethodViewSet(ModelViewSet):
    serializer_class = PaymentMethodSerializer
    filterset_class = PaymentMethodFilter
    updated_since_field = "updated_at"
    ordering_fields = ("id", "updated_at", "created_at")

    def get_queryset(self) -> QuerySet[PaymentMethod]:
        return selectors.payment_method_list()

    def perform_create(self, serializer: BaseSerializer[PaymentMethod]) -> None:
        serializer.instance = services.payment_method_create(actor=api_user(self.request), **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[PaymentMethod]) -> None:
        assert serializer.instance is not None  # an update always has its object (narrows the type)
        serializer.instance = services.payment_method_update(
            method=serializer.instance, actor=api_user(self.request), **serializer.validated_data
        )

    def perform_destroy(self, instance: PaymentMethod) -> None:
        services.payment_method_delete(method=instance, actor=api_user(self.request))


# --- invoice ↔ PR links (routed as /api/invoices/{id}/link|unlink|move/) --------------------------------
class CanReadInvoices(SignedInPermission):
    """Whoever bundles invoices must be able to read them; the service then requires the
    maker of the PR(s) or finance staff (`payments.change_paymentrequest`)."""

    def has_user_permission(self, request: Request, view: Any, user: Any) -> bool:
        return bool(user.has_perm("invoices.view_invoice"))


def _invoice(pk: str) -> Any:
    from invoices.models import Invoice

    invoice = Invoice.objects.filter(pk=pk).first()
    if invoice is None:
        raise NotFoundError(_("Invoice not found."), code="INVOICE_NOT_FOUND")
    return invoice


def _pr(pk: int) -> PaymentRequest:
    pr = PaymentRequest.objects.filter(pk=pk).first()
    if pr is None:
        raise NotFoundError(_("Payment request not found."), code="PR_NOT_FOUND")
    return pr


class InvoiceLinkView(APIView):
    permission_classes = [CanReadInvoices]

    @extend_schema(
        tags=["invoices"],
        request=InvoiceLinkSerializer,
        responses=InvoiceLinkResultSerializer,
        summary="Put the invoice into a draft payment request",
    )
    def post(self, request: Request, pk: str) -> Response:
        payload = InvoiceLinkSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        link = services.invoice_link(
            invoice=_invoice(pk), pr=_pr(payload.validated_data["pr"]), actor=api_user(request)
        )
        return Response({"invoice": link.invoice_id, "pr": link.pr_id})


class InvoiceUnlinkView(APIView):
    permission_classes = [CanReadInvoices]

    @extend_schema(
        tags=["invoices"],
        request=None,
        responses=InvoiceLinkResultSerializer,
        summary="Take the invoice out of its draft payment request",
    )
    def post(self, request: Request, pk: str) -> Response:
        invoice = _invoice(pk)
        services.invoice_unlink(invoice=invoice, actor=api_user(request))
        return Response({"invoice": invoice.pk, "pr": None})


class InvoiceMoveView(APIView):
    permission_classes = [CanReadInvoices]

    @extend_schema(
        tags=["invoices"],
        request=InvoiceLinkSerializer,
        responses=InvoiceLinkResultSerializer,
        summary="Move the invoice to another draft payment request, atomically",
    )
    def post(self, request: Request, pk: str) -> Response:
        payload = InvoiceLinkSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        link = services.invoice_move(
            invoice=_invoice(pk), pr=_pr(payload.validated_data["pr"]), actor=api_user(request)
        )
        return Response({"invoice": link.invoice_id, "pr": link.pr_id})
