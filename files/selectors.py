"""Reads of the file store. Who sees which file:

- a user holding `files.view_storedfile` (finance, admin, bod, owner) sees every file: files
  are invoice documents and payment-request attachments that the whole back office and the
  approvers must open;
- a user holding only `files.add_storedfile` sees the files they uploaded themselves;
- anyone else sees none (the API answers 403 before looking; an id outside a user's scope
  is 404, so ids do not reveal what exists).

The content column is never selected here (see `files.models.StoredFileContentField`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from files.models import StoredFile


def stored_file_list() -> QuerySet[StoredFile]:
    return StoredFile.objects.select_related("created_by")


def stored_files_visible_to(user: Any) -> QuerySet[StoredFile]:
    files = stored_file_list()
    if not user or not user.is_authenticated or not user.is_active:
        return files.none()
    if user.has_perm("files.view_storedfile"):
        return files
    if user.has_perm("files.add_storedfile"):
        return files.filter(created_by=user)
    return files.none()


def user_may_use_files(user: Any) -> bool:
    return bool(
        user
        and user.is_authenticated
        and (user.has_perm("files.view_storedfile") or user.has_perm("files.add_storedfile"))
    )
