"""An upload cut off mid-way against a real HTTP server (socket level): refused, no row."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import Permission

from accounts.services import api_token_create
from files.models import StoredFile
from tests.accounts.factories import RoleFactory, UserFactory

BOUNDARY = "LiveCutBoundary"


def _post_raw(live_server, token: str, body: bytes, declared_length: int) -> bytes:
    address = urlparse(live_server.url)
    head = (
        "POST /api/files/ HTTP/1.1\r\n"
        f"Host: {address.hostname}\r\n"
        f"Authorization: Token {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {declared_length}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)  # the client is gone: no more bytes will come
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


@pytest.mark.django_db(transaction=True)
def test_upload_cut_off_mid_way_leaves_no_row(live_server):
    # Its own role: a transactional test may run after another one flushed the built-in roles.
    role = RoleFactory()
    role.permissions.add(*Permission.objects.filter(content_type__app_label="files"))
    user = UserFactory(roles=[role.name])
    _token, key = api_token_create(user=user)
    part = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="cut.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + b"%PDF-1.4\n"
        + b"x" * 300_000
    )
    full_length = len(part) + len(f"\r\n--{BOUNDARY}--\r\n")

    reply = _post_raw(live_server, key, part, declared_length=full_length)

    assert reply.startswith(b"HTTP/1.1 400"), reply[:300]
    assert b"UPLOAD_INCOMPLETE" in reply
    assert not StoredFile.objects.exists()

    # The same body, complete, is stored: the refusal was about the cut, nothing else.
    complete = part + f"\r\n--{BOUNDARY}--\r\n".encode()
    reply = _post_raw(live_server, key, complete, declared_length=len(complete))
    assert reply.startswith(b"HTTP/1.1 201"), reply[:300]
    assert StoredFile.objects.get().size == 300_009
