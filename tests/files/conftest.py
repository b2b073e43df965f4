from __future__ import annotations

import pytest

from accounts.models import Role
from tests.accounts.factories import RoleFactory, UserFactory


@pytest.fixture
def uploader(db):
    """Holds only files.add_storedfile: may upload, and see only what they uploaded."""
    from django.contrib.auth.models import Permission

    role = RoleFactory(name="uploader-only")
    role.permissions.add(Permission.objects.get(content_type__app_label="files", codename="add_storedfile"))
    assert Role.objects.filter(pk=role.pk).exists()
    return UserFactory(email="uploader@acountee.test", roles=["uploader-only"])


def multipart_body(parts: list[tuple[str, str | None, bytes]], boundary: str = "AcOuNtEeBoUnDaRy") -> bytes:
    """A raw multipart/form-data body; `filename` is put into the header as given (bytes
    included), so tests can send names no well-behaved client would."""
    out = b""
    for name, filename, data in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'Content-Disposition: form-data; name="{name}"'.encode()
        if filename is not None:
            disposition += b'; filename="' + filename.encode("utf-8", "surrogateescape") + b'"'
        out += disposition + b"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out


MULTIPART = "multipart/form-data; boundary=AcOuNtEeBoUnDaRy"
