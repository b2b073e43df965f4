"""Attach and detach files on the payment-request page (`<id>/attachments/add/`,
`<id>/attachments/<file_id>/remove/`, POST only).

Uploads follow the file store's rules exactly as the API does (`files.uploads`: size limit while
reading, cut-off bodies refused; `stored_file_create`: empty files, names); the services decide who
may attach or detach and in which state. Every refusal is an admin message, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext

from acountee.errors import AcounteeError
from files.services import stored_file_create
from files.uploads import install_upload_handlers
from payments.models import PaymentRequest
from payments.services import payment_request_attachment_add, payment_request_attachment_remove


def can_attach(pr: PaymentRequest, user: Any) -> bool:
    """Mirrors `payments.services.ensure_can_prepare` (the services still decide)."""
    return pr.maker_id == user.pk or user.has_perm("payments.change_paymentrequest")


def _back(object_id: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("admin:payments_paymentrequest_change", args=[object_id]))


def _removed(**kwargs: Any) -> bool:
    """The service returns None; call_service returns None on a refusal too: tell them apart."""
    payment_request_attachment_remove(**kwargs)
    return True


class PRAttachmentsMixin:
    def get_urls(self) -> list[Any]:
        site = self.admin_site  # type: ignore[attr-defined]
        return [
            path(
                "<int:object_id>/attachments/add/",
                self._with_upload_rules(site.admin_view(self.attachment_add_view)),
                name="payments_paymentrequest_attachment_add",
            ),
            path(
                "<int:object_id>/attachments/<int:file_id>/remove/",
                site.admin_view(self.attachment_remove_view),
                name="payments_paymentrequest_attachment_remove",
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    @staticmethod
    def _with_upload_rules(protected: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        """The upload handlers must be in place before anything reads the body, and the CSRF check reads it:
        the middleware is skipped here and `protected` (admin_view, which keeps csrf_protect) checks instead.
        A body the rules refuse (too large, cut off) becomes a message on the PR page."""

        def view(request: HttpRequest, object_id: int) -> HttpResponse:
            if request.method == "POST":
                install_upload_handlers(request)
            try:
                return protected(request, object_id=object_id)
            except AcounteeError as exc:
                messages.error(request, str(exc.message))
                return _back(object_id)

        view.csrf_exempt = True  # type: ignore[attr-defined]  # checked by `protected`, see above
        return view

    def _pr_for_change(self, request: HttpRequest, object_id: int) -> PaymentRequest:
        pr = get_object_or_404(self.get_queryset(request), pk=object_id)  # type: ignore[attr-defined]
        if not can_attach(pr, request.user):
            raise PermissionDenied
        return pr

    def attachment_add_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        pr = self._pr_for_change(request, object_id)
        uploads = request.FILES.getlist("file")
        if len(uploads) != 1:
            messages.error(request, gettext("Choose one file to attach."))
            return _back(pr.pk)
        upload = uploads[0]
        call = self.call_service  # type: ignore[attr-defined]
        stored = call(request, stored_file_create, content=upload, name=upload.name or "", created_by=request.user)
        if (
            stored is not None
            and call(
                request, payment_request_attachment_add, pr=pr, file=stored, actor=request.user, name=upload.name or ""
            )
            is not None
        ):
            messages.success(request, gettext("Attached “%(name)s”.") % {"name": upload.name or stored.original_name})
        return _back(pr.pk)

    def attachment_remove_view(self, request: HttpRequest, object_id: int, file_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        pr = self._pr_for_change(request, object_id)
        removed = self.call_service(  # type: ignore[attr-defined]
            request, _removed, pr=pr, file_id=file_id, actor=request.user
        )
        if removed:
            messages.success(request, gettext("Attachment removed."))
        return _back(pr.pk)
