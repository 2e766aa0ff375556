"""The transport for runs without a Slack token (a demo, a dry run, `healthbot digest` before
Slack is set up): messages land on the terminal and as JSON files, and the outbox still goes
through claim, post and read-back exactly as it does against Slack.

An outbox row holds the text Slack gets, escaped (bot/messages/render.py says why): the
terminal shows it un-escaped, as Slack would, so `<!channel> Evil & Co` prints literally; the
JSON file keeps exactly what would have been posted.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import TextIO

from bot.delivery.transport_types import FileUpload, Outgoing, Posted, Uploaded
from bot.messages.render import unescape


def safe_key(key: str) -> str:
    """An outbox key as a file name: anything but letters, digits, `@`, `.`, `-` becomes `_`."""
    return re.sub(r"[^A-Za-z0-9@.-]", "_", key)[:200]


class TerminalTransport:
    """No Slack token (a demo, a dry run): print each message and keep it as a JSON file, so
    the whole pipeline, outbox included, runs the same way it does against Slack. What it
    delivers is `printed`, never counted as a Slack delivery."""

    via = "terminal"

    def __init__(self, outdir: Path, stream: TextIO | None = None) -> None:
        self.outdir = Path(outdir)
        self.stream = stream if stream is not None else sys.stdout

    def __repr__(self) -> str:
        return f"TerminalTransport({str(self.outdir)!r})"

    def resolve_user(self, email: str) -> str | None:
        return email  # no directory to ask: everyone is reachable on the terminal

    def post(self, message: Outgoing) -> Posted:
        self.outdir.mkdir(parents=True, exist_ok=True)
        path = self.outdir / f"{safe_key(message.key)}.json"
        where = {"to": message.to} if message.to else {"channel": message.channel}
        thread = {"thread_ts": message.thread_ts} if message.thread_ts else {}
        body = where | thread | {"text": message.text, "blocks": message.blocks or []}
        _write(path, (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode())
        recipient = message.to or "#" + message.channel.removeprefix("#")
        reply = " in thread" if message.thread_ts else ""
        header = f"── to {recipient}{reply} ({message.key}) ──"
        print(header, unescape(message.text), "", sep="\n", file=self.stream)
        self.stream.flush()
        return Posted("terminal", f"{time.time():.6f}")

    def update(self, channel_id: str, ts: str, text: str, blocks: list | None) -> None:
        print(f"── updated message {ts} ──", unescape(text), "", sep="\n", file=self.stream)
        self.stream.flush()

    def find_posted(
        self, channel: str, key: str, oldest: float, thread_ts: str | None = None
    ) -> Posted | None:
        path = self.outdir / f"{safe_key(key)}.json"
        return Posted("terminal", f"{path.stat().st_mtime:.6f}") if path.exists() else None

    def upload_file(self, upload: FileUpload) -> Uploaded:
        """Keep the file next to the messages (key + the file's extension) and say where."""
        self.outdir.mkdir(parents=True, exist_ok=True)
        path = self.outdir / (safe_key(upload.key) + Path(upload.filename).suffix)
        _write(path, upload.data)
        print(f"── file {upload.title}: {path} ──", "", sep="\n", file=self.stream)
        self.stream.flush()
        return Uploaded(path.name, "terminal")


def _write(path: Path, data: bytes) -> None:
    """Write whole or not at all: a reader (or read-back) never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
