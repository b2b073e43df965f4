from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import api_user
from acountee.api.permissions import SignedInPermission
from acountee.api.schema import CONTENT_DISPOSITION
from acountee.api.viewsets import GenericViewSet
from acountee.errors import ValidationFailed
from files import selectors, services
from files.api.serializers import StoredFileSerializer, StoredFileUploadSerializer
from files.http import stored_file_response
from files.models import FileType, StoredFile
from files.uploads import install_upload_handlers


class StoredFilePermission(SignedInPermission):
    """Upload needs `files.add_storedfile`; reading needs `files.view_storedfile` or
    `files.add_storedfile` (the latter scoped to one's own uploads by the queryset)."""

    def has_user_permission(self, request: Request, view: Any, user: Any) -> bool:
        if request.method == "POST":
            return bool(user.has_perm("files.add_storedfile"))
        return selectors.user_may_use_files(user)


class AnyAcceptNegotiation(BaseContentNegotiation):
    """The download answers with the file's own type whatever `Accept` says (a PDF viewer
    asking for application/pdf must not get 406); errors still render as JSON."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


_ERRORS = {
    401: OpenApiResponse(description="Not signed in."),
    403: OpenApiResponse(description="No permission to use files."),
    404: OpenApiResponse(description="No such file, or not visible to you."),
}


@extend_schema_view(
    retrieve=extend_schema(
        summary="File metadata",
        description="Name, detected type, size, SHA-256, who uploaded it and when.",
        responses={200: StoredFileSerializer, **_ERRORS},
        tags=["files"],
    ),
)
class StoredFileViewSet(mixins.RetrieveModelMixin, GenericViewSet):
    """Upload (`POST /api/files/`, multipart `file`), metadata, and streamed download."""

    serializer_class = StoredFileSerializer
    permission_classes = [StoredFilePermission]
    parser_classes = [MultiPartParser]
    queryset = StoredFile.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self) -> QuerySet[StoredFile]:
        return selectors.stored_files_visible_to(self.request.user)

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        if request.method == "POST":
            # Before authentication: a session's CSRF check already reads the body.
            install_upload_handlers(request)
        return super().initialize_request(request, *args, **kwargs)

    def get_content_negotiator(self) -> BaseContentNegotiation:
        if getattr(self, "action", None) == "content":
            return AnyAcceptNegotiation()
        return super().get_content_negotiator()

    @extend_schema(
        summary="Upload a file",
        description=(
            "Stores the file in PostgreSQL. Identical bytes return the existing file (200) instead of a new "
            "one (201). Type is detected from the bytes. Errors: 413 `TOO_LARGE` (over FILE_MAX_SIZE), "
            "400 `EMPTY_FILE`, `INVALID_FILE_NAME`, `UPLOAD_INCOMPLETE`, `ONE_FILE_ONLY`."
        ),
        request={"multipart/form-data": StoredFileUploadSerializer},
        responses={
            201: StoredFileSerializer,
            200: OpenApiResponse(StoredFileSerializer, description="The same bytes were already stored."),
            400: OpenApiResponse(description="Empty file, bad name, incomplete upload, unknown field."),
            413: OpenApiResponse(description="Larger than FILE_MAX_SIZE; nothing stored."),
            **_ERRORS,
        },
        tags=["files"],
    )
    def create(self, request: Request) -> Response:
        if len(request.FILES.getlist("file")) > 1:
            raise ValidationFailed(_("Send one file per request."), code="ONE_FILE_ONLY")
        payload = StoredFileUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        file, created = services.stored_file_store(content=upload, name=upload.name, created_by=api_user(request))
        return Response(
            StoredFileSerializer(file, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        summary="Download the content (streamed)",
        description=(
            "Streams the bytes with the detected `Content-Type`, `Content-Length`, `ETag` (SHA-256) and "
            "`Content-Disposition` (PDF inline, others attachment). Supports `If-None-Match` (304) and a single "
            "`Range: bytes=` (206; 416 when outside the file) with `If-Range`."
        ),
        parameters=[
            OpenApiParameter(
                "Range",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="A single byte range, e.g. `bytes=0-1023`.",
            ),
            OpenApiParameter("If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("If-Range", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
            CONTENT_DISPOSITION,
        ],
        responses={
            # The type detected from the bytes at upload (files.detection): one of these, never the client's.
            **{
                (code, content_type): OpenApiResponse(OpenApiTypes.BINARY, description=description)
                for code, description in ((200, "The content."), (206, "The range."))
                for content_type in FileType.values
            },
            304: OpenApiResponse(description="Not modified (ETag matched)."),
            416: OpenApiResponse(description="Range not satisfiable."),
            **_ERRORS,
        },
        tags=["files"],
    )
    @action(detail=True, methods=["get"], url_path="content", url_name="content")
    def content(self, request: Request, pk: str | None = None) -> HttpResponseBase:
        return stored_file_response(request, self.get_object())
