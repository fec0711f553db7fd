"""The HTTP path of calls made with a caller's token: urllib3 directly, without requests.

A gateway forwards nearly every user call to a pod with the caller's own token, so the client
stack runs once per call and once per pod of a list. keystoneauth's Session and requests add
about 0.3 ms of CPU per call on top of urllib3 (preparing the request, merging settings, hooks,
cookies, a stat of the CA bundle). ``LeanTransport`` sends such calls straight through a urllib3
pool with what those layers would have sent: keep-alive sockets as keystoneauth's
``TCPKeepAliveAdapter`` sets them, the session's TLS verification, keystoneauth's microversion
headers, requests' query encoding (``None`` values left out), redirects followed, and one retry
of an idempotent call after a connection failure or a 502/503/504, 0.1 s later, as
``PodClient.send`` asks keystoneauth for. Where requests would do more (a proxy, a netrc file,
a client certificate), ``PodClients`` keeps every call on keystoneauth.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from collections.abc import Collection, Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

import orjson
import urllib3
from keystoneauth1 import session
from requests.utils import DEFAULT_CA_BUNDLE_PATH

REDIRECT_LIMIT = 30


class HttpAnswer(Protocol):
    """What callers read of an answer; a requests ``Response`` has it too."""

    status_code: int
    reason: str | None

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class PodResponse:
    """A pod's answer read whole from urllib3."""

    def __init__(self, raw: urllib3.BaseHTTPResponse) -> None:
        self.status_code = raw.status
        self.reason = raw.reason
        self.headers: Mapping[str, str] = raw.headers
        self.content: bytes = raw.data or b""

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body's JSON; ValueError if it is none."""
        return orjson.loads(self.content)


class TransportError(Exception):
    """No answer: the connection failed, was reset, or timed out."""


def _socket_options() -> list[tuple[int, int, int]]:
    """No Nagle delay; keep-alive probes after 60 s idle, every 15 s, 4 of them."""
    options = [
        (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),
        (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
    ]
    for name, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPCNT", 4), ("TCP_KEEPINTVL", 15)):
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    return options


def _tls_arguments(verify: bool | str) -> dict[str, Any]:
    """urllib3's pool arguments for requests' ``verify`` (True: requests' CA bundle)."""
    if verify is False:
        return {"cert_reqs": "CERT_NONE"}
    if verify is True:
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": DEFAULT_CA_BUNDLE_PATH}
    if os.path.isdir(verify):
        return {"cert_reqs": "CERT_REQUIRED", "ca_cert_dir": verify}
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": verify}


@functools.lru_cache(maxsize=256)
def microversion_headers(service_type: str, microversion: str) -> Mapping[str, str]:
    """The headers keystoneauth sends to ask ``service_type`` for ``microversion``."""
    headers: dict[str, str] = {}
    session.Session._set_microversion_headers(headers, microversion, service_type, None)
    return headers


def with_query(url: str, params: Any) -> str:
    """``url`` with ``params`` (a mapping or pairs; lists repeat the key) encoded as requests
    encodes them: keys whose value is None left out."""
    if not params:
        return url
    pairs = params.items() if isinstance(params, Mapping) else params
    kept = [(key, value) for key, value in pairs if value is not None]
    if not kept:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(kept, doseq=True)}"


class LeanTransport:
    """Requests over one urllib3 pool per endpoint, ``per_endpoint`` connections each."""

    def __init__(self, verify: bool | str, endpoints: int, per_endpoint: int) -> None:
        self._pools = urllib3.PoolManager(
            num_pools=endpoints,
            maxsize=per_endpoint,
            socket_options=_socket_options(),
            **_tls_arguments(verify),
        )
        self._retry = urllib3.Retry(
            total=None, connect=0, read=0, status=0, other=0, redirect=REDIRECT_LIMIT
        )

    def send(
        self,
        method: str,
        url: str,
        *,
        body: Any,
        headers: Mapping[str, str],
        timeout: float | tuple[float, float],
        retries: int,
        retry_delay: float,
        retried_statuses: Collection[int],
    ) -> PodResponse:
        """One request (``body`` sent as JSON unless None); an idempotent call is retried up to
        ``retries`` times after a connection failure and as many after a retried status.
        Raises TransportError when no answer could be had."""
        data = None if body is None else orjson.dumps(body)
        sent = {"Accept": "*/*", **headers}
        if data is not None:
            sent["Content-Type"] = "application/json"
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        limits = urllib3.Timeout(connect=connect, read=read)
        failures_left = statuses_left = retries
        while True:
            try:
                raw = self._pools.request(
                    method, url, body=data, headers=sent, timeout=limits, retries=self._retry
                )
            except urllib3.exceptions.HTTPError as exc:
                if failures_left <= 0:
                    raise TransportError(f"{method} {url}: {exc}") from exc
                failures_left -= 1
            else:
                if raw.status not in retried_statuses or statuses_left <= 0:
                    return PodResponse(raw)
                statuses_left -= 1
            time.sleep(retry_delay)
