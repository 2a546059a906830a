"""The loopback HTTP server: requests and responses as the fake's routes see them, the
handler that writes them (streams, gzip, a throttled rate, cut transfers, resets) and the
answers of ``faults.fail_next_requests``."""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, quote_plus, urlsplit

from tests.fake_photoprism.media import _iter_body
from tests.fake_photoprism.model import CHUNK_SIZE

if TYPE_CHECKING:
    from tests.fake_photoprism.server import FakePhotoPrism


def _parse_bool(value: str) -> bool:
    """Go ``strconv.ParseBool`` (gin form binding treats "" as false)."""
    if value in ("", "0", "f", "F", "false", "FALSE", "False"):
        return False
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    raise ValueError(value)


def _parse_int(value: str) -> int:
    if value == "":
        return 0
    if not re.fullmatch(r"[+-]?\d+", value):
        raise ValueError(value)
    return int(value)


def _header_safe(s: str) -> str:
    return "".join(" " if ord(ch) < 0x20 or ord(ch) == 0x7F else ch for ch in s)


def _content_disposition(name: str) -> str:
    """gin ``FileAttachment``: ASCII names quoted, others as ``filename*=UTF-8''…``."""
    base = name.rsplit("/", 1)[-1] or name
    if base.isascii():
        escaped = _header_safe(base).replace("\\", "\\\\").replace('"', '\\"')
        return f'attachment; filename="{escaped}"'
    return "attachment; filename*=UTF-8''" + quote_plus(base.encode("utf-8", "replace"), safe="")


def _json_bytes(obj: Any, indent: int | None = None) -> bytes:
    text = json.dumps(
        obj, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":")
    )
    return text.encode("utf-8", "replace")


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def accepts_gzip(self) -> bool:
        return "gzip" in self.header("accept-encoding").lower()


@dataclass
class _Stream:
    """A planned download body: ``length`` bytes from ``start`` of one file version."""

    uid: str
    content: bytes | None
    path: str | None
    synthetic: bool
    start: int
    length: int
    gzip: bool
    truncate: bool
    corrupt: bool


@dataclass
class _Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    compress: bool = False
    stream: _Stream | None = None
    delay: float = 0.0


class _Problem(Exception):
    """Raised inside route code to answer with a prepared response."""

    def __init__(self, response: _Response) -> None:
        super().__init__(response.status)
        self.response = response


class _ClientGone(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    fake: FakePhotoPrism

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "PhotoPrism"
    sys_version = ""

    def _srv(self) -> _Server:
        return cast(_Server, self.server)

    def setup(self) -> None:
        super().setup()
        self._srv().track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self._srv().untrack(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except (OSError, ValueError, _ClientGone):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET
    do_PATCH = do_GET
    do_OPTIONS = do_GET
    do_HEAD = do_GET

    # -- request ----------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise _ClientGone()
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
        fake = self._srv().fake
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = self._read_body()
        except ValueError:
            self._write(_Response(400, [("Content-Type", "text/plain")], b"bad request body\n"))
            return
        req = _Request(self.command, parts.path, query, headers, body)
        fake._record(req)  # counts the request as in flight until it is answered
        try:
            self._answer(fake, req)
        finally:
            with fake._lock:
                fake._in_flight -= 1

    def _answer(self, fake: FakePhotoPrism, req: _Request) -> None:
        parts = urlsplit(self.path)
        outage = fake._outage_status()
        if outage > 0:
            self._write(_failure(outage, fake, req))
            return
        if outage < 0:
            self._reset()
            return
        if fake._take_go_down(parts.path):
            self._reset()
            return
        if fake._take_reset(parts.path):
            self._reset()
            return
        if parts.path.startswith("/api/"):
            status = fake._take_failure(self.command, parts.path)
            if status is not None:
                self._write(_failure(status, fake, req))
                return
        try:
            resp = fake._handle(req)
        except Exception as exc:  # a bug in the fake: answer 500 rather than hang the client
            resp = fake._json(500, {"code": 500, "error": f"fake server error: {exc!r}"})
        self._write(resp, head_only=self.command == "HEAD")

    # -- response ---------------------------------------------------------------------------------

    def _reset(self) -> None:
        """Close the socket with RST and no response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.wfile.close()
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _write(self, resp: _Response, head_only: bool = False) -> None:
        if resp.delay > 0:
            time.sleep(resp.delay)
        body = resp.body
        headers = list(resp.headers)
        chunked = False
        if resp.compress and body and resp.status not in (204, 304):
            body = _gzip(body)
            headers += [
                ("Content-Encoding", "gzip"),
                ("Vary", "Accept-Encoding"),
                ("Transfer-Encoding", "chunked"),
            ]
            chunked = True
        self.send_response(resp.status)
        for k, v in headers:
            self.send_header(k, v)
        if resp.stream is None and not chunked and resp.status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if head_only:
            return
        if resp.stream is not None:
            self._write_stream(resp.stream)
            return
        if chunked:
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        elif body:
            self.wfile.write(body)

    def _send(self, data: bytes, chunked: bool, rate: int) -> None:
        if not data:
            return
        fake = self._srv().fake
        step = len(data) if rate <= 0 else max(512, min(CHUNK_SIZE, rate // 20))
        for pos in range(0, len(data), step):
            piece = data[pos : pos + step]
            if self._peer_closed():
                # A write into a socket whose peer already left still "succeeds" once; do not
                # count such bytes as served.
                raise ConnectionResetError("client went away")
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                self.wfile.write(piece)
            fake._add_bytes(len(piece))
            if rate > 0:
                time.sleep(len(piece) / rate)

    def _peer_closed(self) -> bool:
        """True if the client closed its end (EOF or reset waiting on the socket)."""
        sock: socket.socket = self.connection
        try:
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            if not poller.poll(0):
                return False
            return sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _write_stream(self, st: _Stream) -> None:
        fake = self._srv().fake
        gz = zlib.compressobj(6, zlib.DEFLATED, 31) if st.gzip else None
        limit = st.length // 2 if st.truncate else st.length
        sent = 0
        first = True
        try:
            for chunk in _iter_body(st.uid, st.content, st.path, st.synthetic, st.start, st.length):
                if st.corrupt and first and chunk:
                    chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
                first = False
                if sent + len(chunk) > limit:
                    chunk = chunk[: limit - sent]
                sent += len(chunk)
                rate = fake.faults.download_rate
                self._send(gz.compress(chunk) if gz else chunk, st.gzip, rate)
                if sent >= limit:
                    break
            if st.truncate:
                if gz is not None:
                    self._send(gz.flush(zlib.Z_SYNC_FLUSH), True, 0)
                self._abort()
                return
            if gz is not None:
                self._send(gz.flush(), True, 0)
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True


def _gzip(data: bytes) -> bytes:
    gz = zlib.compressobj(6, zlib.DEFLATED, 31)
    return gz.compress(data) + gz.flush()


def _failure(status: int, fake: FakePhotoPrism, req: _Request) -> _Response:
    """A response for ``faults.fail_next_requests``."""
    if status == 429:
        return fake._json(status, {"error": "rate limit exceeded", "code": 429})
    if status in (502, 503, 504):
        title = {
            502: "502 Bad Gateway",
            503: "503 Service Temporarily Unavailable",
            504: "504 Gateway Time-out",
        }[status]
        html = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return _Response(status, [("Content-Type", "text/html")], html.encode())
    if status == 401:
        return fake._unauthorized(req)
    reasons = {
        400: "Unable to do that",
        403: "Permission denied",
        404: "Not found",
        500: "Internal server error",
    }
    return fake._err(status, reasons.get(status, "Something went wrong, try again"))
