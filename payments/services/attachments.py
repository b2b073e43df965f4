"""A payment request's supporting documents (files in the store)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from acountee.errors import Duplicate, NotFoundError
from audit.services import audit_log
from files.services import clean_file_name
from payments import events
from payments.audit_actions import PaymentRequestContentAction as PRContentAction
from payments.models import PaymentRequest, PaymentRequestStatus, PRAttachment
from payments.services.common import ensure_can_prepare, ensure_status, payment_request_lock

if TYPE_CHECKING:
    from accounts.models import User


# --- attachments ----------------------------------------------------------------------------------
def payment_request_attachment_add(
    *, pr: PaymentRequest, file: Any, actor: User | None, name: str = ""
) -> PRAttachment:
    """Attach a stored file. Allowed in every state: supporting documents (contracts, the
    bank's transfer receipt) keep arriving after approval. `name` is what it was uploaded as (the file
    store keeps the first upload's name for shared bytes). Attaching the same file twice answers
    ALREADY_ATTACHED."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        ensure_can_prepare(pr, actor)
        if PRAttachment.objects.filter(pr=pr, file=file).exists():
            raise Duplicate(_("This file is already attached."), code="ALREADY_ATTACHED")
        try:
            with transaction.atomic():
                attachment = PRAttachment.objects.create(
                    pr=pr, file=file, added_by=actor, name=clean_file_name(name) if name else file.original_name
                )
        except IntegrityError:
            raise Duplicate(_("This file is already attached."), code="ALREADY_ATTACHED") from None
        events.pr_changed(pr)
        audit_log(
            action=PRContentAction.ATTACH_FILE,
            table="pr",
            record_id=pr.pk,
            actor=actor,
            metadata={"file_id": file.pk, "name": attachment.name},
        )
    return attachment


def payment_request_attachment_remove(*, pr: PaymentRequest, file_id: int, actor: User | None) -> None:
    """Detach a file (the file itself stays in the store). Only in draft: once a PR is
    submitted, its documents are what the approvers saw."""
    with transaction.atomic():
        pr = payment_request_lock(pk=pr.pk)
        ensure_can_prepare(pr, actor)
        attachment = PRAttachment.objects.filter(pr=pr, file_id=file_id).first()
        if attachment is None:
            raise NotFoundError(_("This file is not attached to the payment request."), code="NOT_FOUND")
        ensure_status(pr, PaymentRequestStatus.DRAFT, action=_("remove an attachment from"))
        attachment.delete()
        events.pr_changed(pr)
        audit_log(
            action=PRContentAction.DETACH_FILE, table="pr", record_id=pr.pk, actor=actor, metadata={"file_id": file_id}
        )
