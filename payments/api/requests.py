"""`/api/payment-requests/`: the payment request's lifecycle. Views validate input and call
`payments.services`; who may do what is decided there (and by object scoping in `payments.selectors`)."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db.models import QuerySet
from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import api_user
from acountee.api.pagination import LazyPageNumberPagination
from acountee.api.parsers import JSONParser
from acountee.api.permissions import ModelPermissions, SignedInPermission
from acountee.api.sync import request_ordering
from acountee.api.viewsets import ID_PATTERN, ModelViewSet
from acountee.db.router import reads_from_replica
from acountee.errors import NotFoundError
from acountee.months import parse_month
from acountee.search import SearchTextFilter
from files.selectors import stored_files_visible_to
from files.uploads import install_upload_handlers
from payments import selectors, services
from payments.api import examples
from payments.api.serializers import (
    LIST_ROW_FIELDS,
    ApproveInputSerializer,
    AttachmentInputSerializer,
    AttachmentSerializer,
    BulkApproveInputSerializer,
    BulkApproveResultSerializer,
    CompleteInputSerializer,
    FromInvoicesInputSerializer,
    PaymentRequestDetailSerializer,
    PaymentRequestInputSerializer,
    PaymentRequestListSerializer,
    RejectInputSerializer,
    UncompleteInputSerializer,
    list_row,
)
from payments.models import PaymentRequest, PaymentRequestStatus, PaymentRequestType
from payments.selectors import PR_SEARCH_FIELDS

TAGS = ["payment requests"]


class PaymentRequestFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=PaymentRequestStatus.choices)
    type = django_filters.ChoiceFilter(choices=PaymentRequestType.choices)
    maker = django_filters.NumberFilter(field_name="maker_id")
    month = django_filters.CharFilter(method="filter_month", help_text="YYYY-MM (creation month).")
    q = SearchTextFilter(fields=PR_SEARCH_FIELDS, document="search_document")
    awaiting_me = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_awaiting", help_text="My approval queue."
    )

    class Meta:
        model = PaymentRequest
        fields = ["status", "type", "maker", "month", "q", "awaiting_me"]

    def filter_month(self, qs: QuerySet[PaymentRequest], name: str, value: str) -> QuerySet[PaymentRequest]:
        month = parse_month(value)
        return qs.filter(created_at__year=month.year, created_at__month=month.month)

    def filter_awaiting(self, qs: QuerySet[PaymentRequest], name: str, value: str) -> QuerySet[PaymentRequest]:
        if value != "true":
            return qs
        return selectors.awaiting(self.request.user, qs)


def _optional_body(request: Request) -> Any:
    """No body (or an empty form) means no options; `[]`, `null` or `""` are still refused (400)."""
    return {} if isinstance(request.data, dict) and not request.data else request.data


class PaymentRequestPermission(SignedInPermission):
    """Reading is scoped by the queryset; create/update/delete need the model permission;
    the lifecycle actions are open to any signed-in user because the services decide
    (approver of the current step, maker, finance) and answer with specific codes."""

    MODEL_ACTIONS = {"create", "from_invoices", "partial_update", "update", "destroy"}

    def has_user_permission(self, request: Request, view: Any, user: Any) -> bool:
        if view.action in self.MODEL_ACTIONS:
            return ModelPermissions().has_permission(request, view)
        return True


@extend_schema_view(
    list=extend_schema(tags=TAGS, responses=PaymentRequestListSerializer, examples=examples.PR_LIST),
    retrieve=extend_schema(tags=TAGS, responses=PaymentRequestDetailSerializer),
    create=extend_schema(
        tags=TAGS,
        request=PaymentRequestInputSerializer,
        responses={201: PaymentRequestDetailSerializer},
        examples=examples.PR_CREATE,
    ),
    partial_update=extend_schema(
        tags=TAGS, request=PaymentRequestInputSerializer, responses=PaymentRequestDetailSerializer
    ),
    destroy=extend_schema(tags=TAGS),
)
class PaymentRequestViewSet(ModelViewSet):
    permission_classes = [PaymentRequestPermission]
    filterset_class = PaymentRequestFilter
    pagination_class = LazyPageNumberPagination
    estimated_count = True  # an unfiltered count of a huge list is the planner's estimate (issue 22)
    updated_since_field = "updated_at"
    ordering_fields = ("id", "updated_at", "created_at", "amount")

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        drf_request = super().initialize_request(request, *args, **kwargs)
        if self.action == "attachments" and request.method == "POST":
            # Same upload rules as POST /api/files/: size limit while reading, cut-off bodies refused.
            install_upload_handlers(request)
        return drf_request

    def get_queryset(self) -> QuerySet[PaymentRequest]:
        if self.action == "list":
            return selectors.payment_request_list(user=api_user(self.request))
        return selectors.payment_request_detail(user=api_user(self.request))

    def get_serializer_class(self) -> Any:
        if self.action == "list":
            return PaymentRequestListSerializer
        if self.action in ("create", "partial_update"):
            return PaymentRequestInputSerializer
        return PaymentRequestDetailSerializer

    @reads_from_replica  # a large list: lag tolerated, read-your-writes kept (docs/deployment.md)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The hottest read: the page is a subquery over ids only (cheap even deep in the list),
        and the page's rows are read as dicts in the same statement (no model instances): a
        count and one query whatever the page size. Both order by -id (or both by `?ordering=`), so rows keep
        page order. Cursor paging (acountee.api.sync) reads the page's ids, then its rows: one query more."""
        queryset = self.filter_queryset(self.get_queryset())
        # LazyPageNumberPagination: the page is a lazy queryset of ids (a list in cursor mode), not DRF's list.
        page = cast("QuerySet[Any, int]", self.paginate_queryset(queryset.values_list("pk", flat=True)))
        rows = selectors.payment_request_rows(ids=page)
        keys = request_ordering(request)
        if keys is not None:
            rows = rows.order_by(*(key.expression() for key in keys))
        return self.get_paginated_response([list_row(row) for row in rows.values(*LIST_ROW_FIELDS)])

    def _fresh(self, pk: int, *, code: int = status.HTTP_200_OK) -> Response:
        pr = selectors.payment_request_detail(user=api_user(self.request)).get(pk=pk)
        return Response(PaymentRequestDetailSerializer(pr).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = PaymentRequestInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        pr = services.payment_request_create(actor=api_user(request), **payload.validated_data)
        return self._fresh(pr.pk, code=status.HTTP_201_CREATED)

    @extend_schema(
        tags=TAGS,
        request=FromInvoicesInputSerializer,
        responses={201: PaymentRequestDetailSerializer},
        summary="Create a request from invoices, in one call",
        description=(
            "A direct draft paying the given invoices: the amount is their total payable, the name defaults to "
            "their sellers, the approval chain is the flow for that amount. All or nothing: an invoice that "
            "cannot be linked (missing 404, in another request or not imported 409, signature refused 409, "
            "mixed currencies 400) creates nothing. Send an Idempotency-Key to retry safely."
        ),
    )
    @action(detail=False, methods=["post"], url_path="from-invoices")
    def from_invoices(self, request: Request) -> Response:
        payload = FromInvoicesInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        pr = services.payment_request_create_from_invoices(
            actor=api_user(request),
            invoice_ids=payload.validated_data["invoice_ids"],
            name=payload.validated_data["name"].strip(),
        )
        return self._fresh(pr.pk, code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pr = self.get_object()
        payload = PaymentRequestInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        services.payment_request_update(pr=pr, actor=api_user(request), **payload.validated_data)
        return self._fresh(pr.pk)

    def perform_destroy(self, instance: PaymentRequest) -> None:
        services.payment_request_delete(pr=instance, actor=api_user(self.request))

    # --- lifecycle actions -----------------------------------------------------------------------------
    @extend_schema(tags=TAGS, request=None, responses=PaymentRequestDetailSerializer)
    @action(detail=True, methods=["post"], url_path="request-approval")
    def request_approval(self, request: Request, pk: str | None = None) -> Response:
        pr = self.get_object()
        services.payment_request_request_approval(pr=pr, actor=api_user(request))
        return self._fresh(pr.pk)

    @extend_schema(
        tags=TAGS,
        request=ApproveInputSerializer,
        responses=PaymentRequestDetailSerializer,
        examples=examples.PR_APPROVE,
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        pr = self.get_object()
        payload = ApproveInputSerializer(data=_optional_body(request))
        payload.is_valid(raise_exception=True)
        services.payment_request_approve(pr=pr, actor=api_user(request), step=payload.validated_data.get("step"))
        return self._fresh(pr.pk)

    @extend_schema(tags=TAGS, request=None, responses=PaymentRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def retract(self, request: Request, pk: str | None = None) -> Response:
        pr = self.get_object()
        services.payment_request_retract(pr=pr, actor=api_user(request))
        return self._fresh(pr.pk)

    @extend_schema(tags=TAGS, request=RejectInputSerializer, responses=PaymentRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        pr = self.get_object()
        payload = RejectInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.payment_request_reject(pr=pr, actor=api_user(request), reason=payload.validated_data["reason"])
        return self._fresh(pr.pk)

    @extend_schema(tags=TAGS, request=None, responses=PaymentRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def recall(self, request: Request, pk: str | None = None) -> Response:
        pr = self.get_object()
        services.payment_request_recall(pr=pr, actor=api_user(request))
        return self._fresh(pr.pk)

    @extend_schema(
        tags=TAGS,
        request=CompleteInputSerializer,
        responses=PaymentRequestDetailSerializer,
        examples=examples.PR_COMPLETE,
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        pr = self.get_object()
        payload = CompleteInputSerializer(data=_optional_body(request))
        payload.is_valid(raise_exception=True)
        services.payment_request_complete(pr=pr, actor=api_user(request), **payload.validated_data)
        return self._fresh(pr.pk)

    @extend_schema(tags=TAGS, request=UncompleteInputSerializer, responses=PaymentRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def uncomplete(self, request: Request, pk: str | None = None) -> Response:
        pr = self.get_object()
        payload = UncompleteInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.payment_request_uncomplete(pr=pr, actor=api_user(request), **payload.validated_data)
        return self._fresh(pr.pk)

    @extend_schema(tags=TAGS, request=BulkApproveInputSerializer, responses=BulkApproveResultSerializer)
    @action(detail=False, methods=["post"], url_path="bulk-approve")
    def bulk_approve(self, request: Request) -> Response:
        payload = BulkApproveInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ids = payload.validated_data["ids"]
        visible = set(
            selectors.payment_requests_visible_to(api_user(request)).filter(pk__in=ids).values_list("pk", flat=True)
        )
        result = services.payment_requests_bulk_approve(ids=sorted(visible), actor=api_user(request))
        not_found = sorted(set(ids) - visible)
        failed = result.failed + [
            {"id": pk, "code": NotFoundError.code, "message": str(NotFoundError.default_message)} for pk in not_found
        ]
        return Response({"approved": result.approved, "failed": sorted(failed, key=lambda f: f["id"])})

    # --- attachments ------------------------------------------------------------------------------------
    @extend_schema(
        tags=TAGS,
        methods=["GET"],
        request=None,
        responses=AttachmentSerializer(many=True),
        filters=False,  # the PR's attachments, not a filtered list of PRs
        summary="The PR's attachments",
    )
    @extend_schema(
        tags=TAGS,
        methods=["POST"],
        request={"multipart/form-data": AttachmentInputSerializer, "application/json": AttachmentInputSerializer},
        responses={201: PaymentRequestDetailSerializer},
        summary="Attach a file (upload or file_id)",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        pagination_class=None,  # GET: a plain array
        parser_classes=[JSONParser, MultiPartParser],  # a file_id in JSON, or the upload itself
    )
    def attachments(self, request: Request, pk: str | None = None) -> Response:
        pr = self.get_object()
        if request.method == "GET":
            return Response(PaymentRequestDetailSerializer(pr).data["attachments"])
        payload = AttachmentInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if "file" in payload.validated_data:
            from files.services import stored_file_create

            upload = payload.validated_data["file"]
            stored = stored_file_create(content=upload, name=upload.name, created_by=api_user(request))
            name = upload.name or ""
        else:
            # Only a file the user may see can be attached (no attaching by guessing ids).
            visible = stored_files_visible_to(request.user).filter(pk=payload.validated_data["file_id"]).first()
            if visible is None:
                raise NotFoundError(code="FILE_NOT_FOUND")
            stored, name = visible, ""
        services.payment_request_attachment_add(pr=pr, file=stored, actor=api_user(request), name=name)
        return self._fresh(pr.pk, code=status.HTTP_201_CREATED)

    @extend_schema(
        tags=TAGS,
        request=None,
        responses={204: None},
        parameters=[OpenApiParameter("file_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
    )
    @action(detail=True, methods=["delete"], url_path=rf"attachments/(?P<file_id>{ID_PATTERN})")
    def remove_attachment(self, request: Request, pk: str | None = None, file_id: str | None = None) -> Response:
        pr = self.get_object()
        services.payment_request_attachment_remove(pr=pr, file_id=int(file_id or 0), actor=api_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
