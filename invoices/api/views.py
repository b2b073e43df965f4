"""`/api/invoices/`: list, detail, import, payment details, mark obsolete / restore.

The link / unlink / move endpoints belong to the payments app (they need PRs)."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import api_user
from acountee.api.pagination import LazyPageNumberPagination
from acountee.api.permissions import SignedInPermission
from acountee.api.sync import request_ordering
from acountee.api.viewsets import GenericViewSet
from acountee.db.router import reads_from_replica
from acountee.errors import ValidationFailed
from invoices import selectors, services
from invoices.api.serializers import (
    BulkResultSerializer,
    IdsSerializer,
    ImportReportSerializer,
    ImportRequestSerializer,
    InvoiceDetailSerializer,
    InvoiceListSerializer,
    PaymentDetailsSerializer,
    SignatureOverrideSerializer,
)
from invoices.filters import InvoiceFilter
from invoices.models import Invoice

ACTION_PERMISSIONS = {
    "list": "invoices.view_invoice",
    "retrieve": "invoices.view_invoice",
    "import_files": "invoices.add_invoice",
    "payment_details": "invoices.change_invoice",
    "mark_obsolete": "invoices.change_invoice",
    "restore": "invoices.change_invoice",
    "bulk_obsolete": "invoices.change_invoice",
    "bulk_restore": "invoices.change_invoice",
    "signature_override": "invoices.change_invoice",  # and owners only (the service says NOT_OWNER)
}


class InvoicePermission(SignedInPermission):
    """One Django permission per action (roles grant them; the admin asks the same ones)."""

    def has_user_permission(self, request: Request, view: Any, user: Any) -> bool:
        perm = ACTION_PERMISSIONS.get(getattr(view, "action", None) or "", "invoices.change_invoice")
        return bool(user.has_perm(perm))


IMPORT_EXAMPLE = OpenApiExample(
    "One new invoice, one already imported, and a ZIP with a broken entry",
    response_only=True,
    value={
        "summary": {"success": 2, "skipped": 1, "failure": 1},
        "files": [
            {
                "name": "1C26TAA_0000123.xml",
                "kind": "xml",
                "result": "success",
                "reason": "",
                "counts": {"success": 1},
                "entries": [{"name": "1C26TAA_0000123.xml", "result": "success", "reason": "", "invoice": 812}],
            },
            {
                "name": "1C26TAA_0000099.xml",
                "kind": "xml",
                "result": "skipped",
                "reason": "Already imported",
                "counts": {"skipped": 1},
                "entries": [
                    {"name": "1C26TAA_0000099.xml", "result": "skipped", "reason": "Already imported", "invoice": 640}
                ],
            },
            {
                "name": "thang-10.zip",
                "kind": "zip",
                "result": "partial",
                "reason": "",
                "counts": {"success": 1, "failure": 1},
                "entries": [
                    {"name": "HD_0000456.xml", "result": "success", "reason": "", "invoice": 813},
                    {"name": "HD_0000457.xml", "result": "failure", "reason": "Not an e-invoice XML", "invoice": None},
                ],
            },
        ],
    },
)
AMOUNT_PATTERN = r"^ *-?[0-9]{1,17}(\.[0-9]{1,6})? *$"
LIST_PARAMETERS = [
    OpenApiParameter("status", str, enum=["imported", "redundant", "completed"]),
    OpenApiParameter("month", str, description="YYYY-MM of the issue date"),
    OpenApiParameter("supplier_tax_code", str),
    OpenApiParameter(
        "q", str, description="words (accents, case ignored) in supplier name, tax code, series, number, MCCQT"
    ),
    OpenApiParameter("linked", bool, description="in a payment request or not"),
    OpenApiParameter(
        "findings", bool, description="with consistency findings (lines, per-rate summary and header disagree) or not"
    ),
    OpenApiParameter("seller_signature", str, enum=["valid", "invalid", "absent", "unsupported", "unchecked"]),
    OpenApiParameter("tax_authority_signature", str, enum=["valid", "invalid", "absent", "unsupported", "unchecked"]),
    OpenApiParameter(
        "signer_is_seller", bool, description="the seller signature's certificate tax code is the seller's"
    ),
    # What invoices.filters.AmountField reads (issue 20: the document states what the server refuses).
    OpenApiParameter("amount_min", str, description="amount payable at least", pattern=AMOUNT_PATTERN),
    OpenApiParameter("amount_max", str, description="amount payable at most", pattern=AMOUNT_PATTERN),
]


@extend_schema_view(
    list=extend_schema(summary="Invoices", parameters=LIST_PARAMETERS, tags=["invoices"]),
    retrieve=extend_schema(summary="Invoice with its line items", tags=["invoices"]),
)
class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    permission_classes = [InvoicePermission]
    queryset = Invoice.objects.none()  # for the schema; requests use get_queryset()
    filterset_class = InvoiceFilter
    updated_since_field = "updated_at"
    ordering_fields = ("id", "updated_at", "created_at", "issue_date", "total_payable")
    pagination_class = LazyPageNumberPagination
    estimated_count = True  # an unfiltered count of a million rows is the planner's estimate (issue 22)

    @reads_from_replica  # a large list: lag tolerated, read-your-writes kept (docs/deployment.md)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Paged over ids only: OFFSET walks the (issue_date, id) index, not joined rows, so a deep page costs
        about what the first one does (issue 22); the page's rows and their joins are read for those ids in the
        same statement, in the list's order (`?ordering=` when given). A count and one query whatever the page;
        cursor paging (acountee.api.sync) reads the page's ids, then its rows: one query more."""
        queryset = self.filter_queryset(self.get_queryset())
        # LazyPageNumberPagination: the page is a lazy queryset of ids (a list in cursor mode), not DRF's list.
        page = cast("QuerySet[Any, int]", self.paginate_queryset(queryset.values_list("pk", flat=True)))
        rows = selectors.invoice_list_queryset().filter(pk__in=page)
        keys = request_ordering(request)
        if keys is not None:
            rows = rows.order_by(*(key.expression() for key in keys))
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    def get_queryset(self) -> QuerySet[Invoice]:
        if self.action == "list":
            return selectors.invoice_list_queryset()
        return selectors.invoice_detail_queryset()

    def filter_queryset(self, queryset: QuerySet[Any, Any]) -> QuerySet[Any, Any]:
        # The list's filters only: one invoice (and its actions) is found whatever the query says.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self) -> Any:
        return InvoiceListSerializer if self.action == "list" else InvoiceDetailSerializer

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        if request.method == "POST" and request.path.rstrip("/").endswith("/import"):
            from files.uploads import install_upload_handlers

            install_upload_handlers(request)  # 413 over FILE_MAX_SIZE, refuses cut-off bodies
        return super().initialize_request(request, *args, **kwargs)

    def _detail(self, invoice: Invoice) -> Response:
        return Response(InvoiceDetailSerializer(selectors.invoice_get(invoice_id=invoice.pk)).data)

    @extend_schema(
        summary="Import e-invoices",
        description="Multipart field `files`: one or more XML files and/or ZIP archives of them. Every entry"
        " is listed with `success`, `skipped` (duplicate) or `failure` and a reason; a ZIP with"
        " failures among other results is `partial`.",
        request={"multipart/form-data": ImportRequestSerializer},
        responses={200: ImportReportSerializer},
        tags=["invoices"],
        examples=[IMPORT_EXAMPLE],
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_files(self, request: Request) -> Response:
        uploads = request.FILES.getlist("files")
        unknown = sorted(set(request.data.keys()) - {"files"})  # type: ignore[union-attr]  # multipart: a QueryDict
        if unknown:
            raise ValidationFailed(details={name: [_("Unknown field.")] for name in unknown})
        if not uploads:
            raise ValidationFailed(details={"files": [_("Send one or more files in the field `files`.")]})
        report = services.invoices_import(
            uploads=[(upload.name or "upload", upload) for upload in uploads], actor=api_user(request)
        )
        return Response(report.as_dict())

    @extend_schema(
        summary="Edit payment details",
        request=PaymentDetailsSerializer,
        responses={200: InvoiceDetailSerializer},
        tags=["invoices"],
    )
    @action(detail=True, methods=["patch"], url_path="payment-details")
    def payment_details(self, request: Request, pk: str) -> Response:
        invoice = self.get_object()
        payload = PaymentDetailsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        invoice = services.invoice_payment_details_update(
            invoice=invoice, actor=api_user(request), **payload.validated_data
        )
        return self._detail(invoice)

    @extend_schema(summary="Mark obsolete", request=None, responses={200: InvoiceDetailSerializer}, tags=["invoices"])
    @action(detail=True, methods=["post"], url_path="mark-obsolete")
    def mark_obsolete(self, request: Request, pk: str) -> Response:
        invoice = services.invoice_mark_obsolete(invoice=self.get_object(), actor=api_user(request))
        return self._detail(invoice)

    @extend_schema(
        summary="Restore an obsolete invoice", request=None, responses={200: InvoiceDetailSerializer}, tags=["invoices"]
    )
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        invoice = services.invoice_restore(invoice=self.get_object(), actor=api_user(request))
        return self._detail(invoice)

    @extend_schema(
        summary="Override a failed signature check (owners)",
        description="Lets an invoice whose signature is invalid, or signed by another tax code, be put in a payment"
        " request, with a reason; audited as `override_signature`. 403 NOT_OWNER for anyone but owners, 409 when"
        " there is nothing to override.",
        request=SignatureOverrideSerializer,
        responses={200: InvoiceDetailSerializer},
        tags=["invoices"],
    )
    @action(detail=True, methods=["post"], url_path="signature-override")
    def signature_override(self, request: Request, pk: str) -> Response:
        invoice = self.get_object()
        payload = SignatureOverrideSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        invoice = services.invoice_signature_override(
            invoice=invoice, actor=api_user(request), reason=payload.validated_data["reason"]
        )
        return self._detail(invoice)

    @extend_schema(
        summary="Mark many obsolete", request=IdsSerializer, responses={200: BulkResultSerializer}, tags=["invoices"]
    )
    @action(detail=False, methods=["post"], url_path="bulk-obsolete")
    def bulk_obsolete(self, request: Request) -> Response:
        payload = IdsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return Response(
            services.invoices_bulk_mark_obsolete(ids=payload.validated_data["ids"], actor=api_user(request))
        )

    @extend_schema(
        summary="Restore many", request=IdsSerializer, responses={200: BulkResultSerializer}, tags=["invoices"]
    )
    @action(detail=False, methods=["post"], url_path="bulk-restore")
    def bulk_restore(self, request: Request) -> Response:
        payload = IdsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return Response(services.invoices_bulk_restore(ids=payload.validated_data["ids"], actor=api_user(request)))
