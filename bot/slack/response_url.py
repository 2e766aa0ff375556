"""Answers POSTed to a command's `response_url` over kept-alive connections.

bolt's `respond` (slack_sdk's WebhookClient on urllib) opens a new connection for every
answer: a name look-up, a TCP handshake and, against Slack's https://hooks.slack.com, a TLS
handshake per `/health` lookup. That was a quarter of a web worker's time per lookup. This
keeps each process's idle connections per host and reuses them; answers stay the same JSON
POSTs. Where a proxy is configured for the URL ($HTTPS_PROXY and friends, which urllib
honours) the answer goes through bolt's `respond` as before.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import ssl
import threading
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import Respond

log = logging.getLogger("healthbot.slack")
TIMEOUT = 30.0  # seconds, as slack_sdk's WebhookClient
IDLE_PER_HOST = 8  # connections kept per host (a worker's threads never need more at once)
# What a kept-alive connection the server closed while idle raises on its next request. Such
# a request was not processed, so it is sent once more on a new connection (as urllib3 does);
# should a reset instead come after the server took it, the worst case is an ephemeral answer
# shown twice, never a lost one.
STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
Key = tuple[str, str, int]


class ResponsePoster:
    """`post(url, message)`: the HTTP status of one answer POSTed to `url`. Thread-safe."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._idle: dict[Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._tls: ssl.SSLContext | None = None

    def post(self, url: str, message: dict[str, Any]) -> int:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"response_url is not an http(s) URL: {url!r}")
        if _proxied(parts.scheme, parts.hostname):
            return Respond(response_url=url)(**message).status_code
        https = parts.scheme == "https"
        key = (parts.scheme, parts.hostname, parts.port or (443 if https else 80))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = json.dumps(message).encode()
        headers = {"Content-Type": "application/json;charset=utf-8"}
        conn, reused = self._take(key)
        try:
            status, keep = _send(conn, path, body, headers)
        except STALE:
            conn.close()
            if not reused:
                raise
            conn = self._connect(key)
            try:
                status, keep = _send(conn, path, body, headers)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            conn.close()
            raise
        if keep:
            self._give_back(key, conn)
        else:
            conn.close()
        if status >= 300:
            log.warning("response_url answered HTTP %d", status)
        return status

    def _take(self, key: Key) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's sockets are not ours
                self._idle, self._pid = {}, os.getpid()
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), True
        return self._connect(key), False

    def _give_back(self, key: Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < IDLE_PER_HOST:
                idle.append(conn)
                return
        conn.close()

    def _connect(self, key: Key) -> http.client.HTTPConnection:
        """A new connection with TCP_NODELAY (as urllib3 sets): http.client sends a body over
        2,000 bytes (a card) apart from its headers, and on a kept-alive connection Nagle's
        algorithm would hold that second write until the server's delayed ACK, 40 ms later."""
        scheme, host, port = key
        if scheme == "http":
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        else:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._tls)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn


def _send(
    conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bool]:
    """(status, whether the connection may be used again) of one POST."""
    conn.request("POST", path, body, headers)
    response = conn.getresponse()
    response.read()
    return response.status, not response.will_close


def _proxied(scheme: str, host: str) -> bool:
    proxies = urllib.request.getproxies()
    return scheme in proxies and not urllib.request.proxy_bypass(host)
