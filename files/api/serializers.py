from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from acountee.api.serializers import StrictModelSerializer, StrictSerializer
from files.models import StoredFile


class FileUploaderSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name"]
        read_only_fields = fields


class StoredFileSerializer(StrictModelSerializer):
    created_by = FileUploaderSerializer(read_only=True)
    content_url = serializers.SerializerMethodField(help_text=_("Where to download the content (streamed)."))

    class Meta:
        model = StoredFile
        fields = ["id", "original_name", "content_type", "size", "sha256", "created_by", "created_at", "content_url"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_content_url(self, obj: StoredFile) -> str:
        return reverse("files-content", kwargs={"pk": obj.pk})


class StoredFileUploadSerializer(StrictSerializer):
    # Empty files and bad names are refused by the service with specific codes.
    file = serializers.FileField(allow_empty_file=True, help_text=_("The file (multipart/form-data)."))
