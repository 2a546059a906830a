"""The HTTP side of the fake Immich: a threaded loopback server, request parsing, and the
fault switches applied on the wire (bursts of 5xx/429, connections reset or cut mid-body,
corrupt bodies, slow links). Built like the PhotoPrism fake's server and handler."""

from __future__ import annotations

import contextlib
import email.message
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, cast
from urllib.parse import parse_qs, urlsplit

from tests.fake_immich.model import Faults

CHUNK_SIZE = 64 * 1024


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Stream:
    """An original's body to send: ``length`` bytes from ``start``, maybe cut or corrupted."""

    content: bytes
    start: int
    length: int
    truncate: bool
    corrupt: bool


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: Stream | None = None
    delay: float = 0.0
    cut_after: int | None = None  # send this many body bytes, then cut the connection


class App(Protocol):
    faults: Faults

    def record(self, req: Request) -> None: ...
    def done(self) -> None: ...
    def wire_fault(self, req: Request) -> Response | str | None: ...
    def handle(self, req: Request) -> Response: ...
    def http_date(self) -> str: ...
    def add_bytes(self, n: int) -> None: ...


class ClientGone(Exception):
    pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    app: App

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, Handler)
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    def track(self, conn: socket.socket) -> None:
        with self._conns_lock:
            self._conns.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._conns_lock:
            self._conns.discard(conn)

    def drop_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def serve(app: App, port: int = 0) -> tuple[Server, threading.Thread]:
    """Bind ``127.0.0.1:port`` and serve in a daemon thread."""
    server = Server(("127.0.0.1", port))
    server.app = app
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="fake-immich", daemon=True)
    thread.start()
    return server, thread


def shutdown(server: Server, thread: threading.Thread | None) -> None:
    server.shutdown()
    server.drop_connections()
    server.server_close()
    if thread is not None:
        thread.join(timeout=5)


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """Split a multipart/form-data body into (field name, filename, data)."""
    msg = email.message.Message()
    msg["content-type"] = content_type
    if msg.get_content_type() != "multipart/form-data":
        raise ValueError("not multipart")
    boundary = msg.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("no boundary")
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))
    out: list[tuple[str, str | None, bytes]] = []
    for raw in chunks[1:]:
        if raw.startswith(b"--"):
            break
        raw = raw.split(b"\r\n", 1)[1] if b"\r\n" in raw else b""
        head, sep, data = raw.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("bad part")
        part = email.message.Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                part[key.strip()] = value.strip()
        name = part.get_param("name", header="content-disposition")
        out.append((name if isinstance(name, str) else "", part.get_filename(), data))
    return out


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One ``bytes=`` range as (start, length); None: ignore (whole body); "416": unsatisfiable.
    Like Express ``send``: several ranges are answered with the whole body."""
    if not header.startswith("bytes=") or "," in header:
        return None
    first, sep, last = header[len("bytes="):].strip().partition("-")
    if not sep:
        return None
    if first == "":
        if not last.isdigit() or int(last) == 0:
            return "416"
        n = min(int(last), size)
        return size - n, n
    if not first.isdigit() or (last and not last.isdigit()):
        return None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return "416"
    return start, end - start + 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small JSON answers must not wait 40 ms for an ACK
    server_version = ""
    sys_version = ""

    def _app(self) -> App:
        return cast(Server, self.server).app

    def setup(self) -> None:
        super().setup()
        cast(Server, self.server).track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            cast(Server, self.server).untrack(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except (OSError, ValueError, ClientGone):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header comes from the server's own clock (which a test may skew).
        return self._app().http_date()

    def version_string(self) -> str:
        return ""

    def send_response(self, code: int, message: str | None = None) -> None:
        # Express sends no Server header; only the status line and Date.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET
    do_PATCH = do_GET
    do_HEAD = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ClientGone()
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        app = self._app()
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body()
        req = Request(self.command, parts.path, query, headers, body)
        app.record(req)
        try:
            fault = app.wire_fault(req)
            if fault == "reset":
                self._reset()
                return
            if isinstance(fault, Response):
                self._write(fault)
                return
            try:
                resp = app.handle(req)
            except Exception as exc:  # a bug in the fake: answer 500 rather than hang
                resp = Response(500, [("Content-Type", "application/json")],
                                f'{{"message":"fake server error: {exc!r}"}}'.encode())
            self._write(resp, head_only=self.command == "HEAD")
        finally:
            app.done()

    def _reset(self) -> None:
        """Close the socket with RST and no answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.wfile.close()
            self.rfile.close()
            self.connection.close()

    def _abort(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def _write(self, resp: Response, head_only: bool = False) -> None:
        if resp.delay > 0:
            time.sleep(resp.delay)
        self.send_response(resp.status)
        for k, v in resp.headers:
            self.send_header(k, v)
        if resp.stream is None and resp.status not in (204, 304):
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if head_only:
            return
        if resp.stream is not None:
            self._write_stream(resp.stream)
        elif resp.cut_after is not None:
            self.wfile.write(resp.body[: resp.cut_after])
            self._abort()
        elif resp.body and resp.status not in (204, 304):
            self.wfile.write(resp.body)

    def _peer_closed(self) -> bool:
        try:
            poller = select.poll()
            poller.register(self.connection, select.POLLIN)
            if not poller.poll(0):
                return False
            return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
        except OSError:
            return True

    def _write_stream(self, st: Stream) -> None:
        app = self._app()
        limit = st.length // 2 if st.truncate else st.length
        sent = 0
        try:
            for chunk in _chunks(st.content, st.start, limit):
                if st.corrupt and sent == 0 and chunk:
                    chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
                rate = app.faults.download_rate
                step = len(chunk) if rate <= 0 else max(512, min(CHUNK_SIZE, rate // 20))
                for pos in range(0, len(chunk), step):
                    if self._peer_closed():
                        raise ConnectionResetError("client went away")
                    piece = chunk[pos: pos + step]
                    self.wfile.write(piece)
                    app.add_bytes(len(piece))
                    if rate > 0:
                        time.sleep(len(piece) / rate)
                sent += len(chunk)
            if st.truncate:
                self._abort()
        except OSError:
            self.close_connection = True


def _chunks(content: bytes, start: int, length: int) -> Iterator[bytes]:
    view = memoryview(content)
    end = min(start + length, len(view))
    for pos in range(start, end, CHUNK_SIZE):
        yield bytes(view[pos: min(pos + CHUNK_SIZE, end)])


def http_date(when: Any) -> str:
    return format_datetime(when, usegmt=True)
