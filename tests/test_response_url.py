"""`/health` answers go to the response_url over kept-alive connections (bot/slack/response_url.py):
a real local HTTP/1.1 server stands in for hooks.slack.com and counts the connections it sees."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.slack.response_url import ResponsePoster


class Hooks(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, drop_after_each: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.answers: list[tuple[str, dict]] = []
        self.drop_after_each = drop_after_each  # an idle timeout the client is not told of
        self.lock = threading.Lock()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_port}/commands/{name}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Hooks

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.headers["Content-Type"].startswith("application/json")
        with self.server.lock:
            self.server.answers.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        if self.server.drop_after_each:
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hooks(request: pytest.FixtureRequest) -> Iterator[Hooks]:
    server = Hooks(drop_after_each=getattr(request, "param", False))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_answers_reuse_one_connection(hooks: Hooks) -> None:
    poster = ResponsePoster()
    for n in range(5):
        assert poster.post(hooks.url(f"c{n}"), {"text": f"card {n}", "blocks": []}) == 200
    assert hooks.answers == [
        (f"/commands/c{n}", {"text": f"card {n}", "blocks": []}) for n in range(5)
    ]
    assert hooks.connections == 1  # urllib (bolt's respond) would have opened five


@pytest.mark.parametrize("hooks", [True], indirect=True)
def test_a_connection_the_server_closed_while_idle_is_replaced_and_the_answer_sent_once(
    hooks: Hooks,
) -> None:
    poster = ResponsePoster()
    for n in range(3):
        assert poster.post(hooks.url(f"c{n}"), {"text": f"card {n}"}) == 200
    assert [path for path, _ in hooks.answers] == ["/commands/c0", "/commands/c1", "/commands/c2"]
    assert hooks.connections == 3


def test_concurrent_answers_each_arrive_once(hooks: Hooks) -> None:
    poster = ResponsePoster()
    threads = [
        threading.Thread(target=poster.post, args=(hooks.url(f"t{n}"), {"text": str(n)}))
        for n in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(path for path, _ in hooks.answers) == sorted(f"/commands/t{n}" for n in range(16))
    assert hooks.connections <= 16


def test_a_url_that_is_not_http_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="response_url is not an http"):
        ResponsePoster().post("file:///etc/passwd", {"text": "x"})


def test_a_kept_connection_sends_without_waiting_for_a_delayed_ack(hooks: Hooks) -> None:
    """A card's body (over 2,000 bytes) leaves http.client apart from its headers; with Nagle's
    algorithm on, a kept-alive connection held it for the server's delayed ACK (40 ms)."""
    poster = ResponsePoster()
    assert poster.post(hooks.url("card"), {"text": "x" * 3000}) == 200
    (kept,) = poster._idle[("http", "127.0.0.1", hooks.server_port)]
    assert kept.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert poster.post(hooks.url("again"), {"text": "y" * 3000}) == 200
    assert hooks.connections == 1
