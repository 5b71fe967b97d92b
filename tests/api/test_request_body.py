"""Request bodies over a real socket to the real server (config/server.py): a chunked body
(Transfer-Encoding: chunked, no Content-Length) is read like any other, and one over the limit
is refused with the API's 413 before it is read whole."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from assistants.models import Assistant
from tests.factories import AssistantFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def chunks(data: bytes, size: int = 7):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_chunked_patch_applies(org, private_key, asgi_server):
    assistant = AssistantFactory(organization=org, temperature=0.7)
    server = asgi_server()
    response = httpx.patch(
        f"{server.http}/api/v1/assistants/{assistant.id}/",
        content=chunks(json.dumps({"temperature": 0.1}).encode()),
        headers={"Authorization": f"Bearer {private_key[1]}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 200, response.text
    assert response.json()["temperature"] == 0.1
    assert Assistant.objects.for_org(assistant.organization).get().temperature == 0.1


def send_chunked(port: int, path: str, headers: dict, body_size: int) -> bytes:
    """Send a chunked POST of ``body_size`` bytes and return what the server answered.

    The server may answer (and close) before the body is through: sending then fails, and the
    answer is read from what arrived."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        chunk = b'{"name": "' + b"x" * 65_000
        try:
            for _ in range(body_size // len(chunk)):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
                if b"\r\n\r\n" in answer and answer.endswith(b"}}"):
                    break
        except ConnectionResetError:
            pass
        return answer


def test_a_chunked_body_over_the_limit_is_413_in_the_error_shape(org, private_key, asgi_server):
    server = asgi_server()
    answer = send_chunked(
        server.port,
        "/api/v1/assistants/",
        {"Authorization": f"Bearer {private_key[1]}", "Content-Type": "application/json"},
        body_size=20_000_000,
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"content-type: application/json" in head.lower()
    error = json.loads(body)["error"]
    assert error["code"] == "payload_too_large"
    assert "2621440 bytes" in error["message"]
    assert not Assistant.objects.unscoped().exists()


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    org, private_key, asgi_server
):
    server = asgi_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/v1/assistants/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 20000000\r\n"
            b"Authorization: Bearer " + private_key[1].encode() + b"\r\n\r\n"
        )
        answer = b""  # no byte of the body is sent: a timeout here fails
        while data := sock.recv(65536):  # until the server closes (Connection: close)
            answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"payload_too_large"' in answer
