"""Helpers of the admin API tests: identities, a client sending them, fault assertions."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from gunicorn.http.errors import InvalidChunkSize
from werkzeug.test import EnvironBuilder, TestResponse, run_wsgi_app
from werkzeug.wrappers import Request

ADMIN_HEADERS = {"X-Project-Id": "admin-project", "X-User-Id": "admin-user", "X-Roles": "admin"}
MEMBER_HEADERS = {"X-Project-Id": "demo-project", "X-User-Id": "demo-user", "X-Roles": "member"}


class Caller:
    """A test client sending one identity's headers with every request."""

    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def request(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)


def assert_fault(response: TestResponse, code: int, fault_name: str, *fragments: str) -> str:
    """Check a Nova-style fault body; return its message."""
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.get_json()
    assert list(body) == [fault_name], body
    assert body[fault_name]["code"] == code
    message = body[fault_name]["message"]
    for fragment in fragments:
        assert fragment in message, message
    return message


def url_of_length(prefix: str, length: int) -> str:
    """``prefix`` (a path ending in ``?key=``) padded with ``x`` to ``length`` characters of path
    and query string, as ``[request] max_url_length`` counts them (without the ``?``)."""
    return prefix + "x" * (length + 1 - len(prefix))


class BrokenChunks(io.RawIOBase):
    """A chunked input the WSGI server cannot decode (gunicorn's error on a bad chunk size)."""

    def read(self, size: int = -1) -> bytes:
        raise InvalidChunkSize(b"zz")


def post_chunked(
    app: Flask, path: str, body: bytes | BrokenChunks, headers: dict[str, str]
) -> TestResponse:
    """POST ``body`` to ``app`` as gunicorn passes a chunked one: no Content-Length, the input
    marked ``wsgi.input_terminated``."""
    environ = EnvironBuilder(
        path,
        method="POST",
        headers={**headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    stream = body if isinstance(body, BrokenChunks) else io.BytesIO(body)
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True})
    return TestResponse(*run_wsgi_app(app, environ), request=Request(environ))
