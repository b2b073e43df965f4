"""Payment methods (SPEC §3) and the invoice ↔ PR link endpoints, which are routed under
`/api/invoices/{id}/…` (API.md) but belong to payments: the link table is ours."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.filters import SearchFilter

from acountee.api.viewsets import ModelViewSet
from payments import selectors, services
from payments.api.serializers import PaymentMethodSerializer
from payments.models import PaymentMethod


@extend_schema(tags=["payment methods"])
class PaymentMethodViewSet(ModelViewSet):
    serializer_class = PaymentMethodSerializer
    filter_backends = [SearchFilter]
    search_fields = ["name", "bank_name", "bank_account", "account_name"]

    def get_queryset(self) -> QuerySet[PaymentMethod]:
        return selectors.payment_method_list()

    def perform_create(self, serializer: PaymentMethodSerializer) -> None:
        serializer.instance = services.payment_method_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: PaymentMethodSerializer) -> None:
        serializer.instance = services.payment_method_update(
            method=serializer.instance, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance: PaymentMethod) -> None:
        services.payment_method_delete(method=instance, actor=self.request.user)
