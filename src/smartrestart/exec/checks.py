"""Running one probe: connect, request, stat or run, within a timeout.

Each check returns an error text, or "" when it passed; none raises. HTTP is
spoken over a plain socket (one GET, ``Connection: close``, the status line
and, for ``--ready-body``, at most :data:`MAX_BODY` bytes of body) rather than
through ``http.client``, which pulls in the ``email`` package: several MB of
memory in a process that stays as the service's main process. ``ssl`` is
imported only for an ``https://`` probe.
"""

from __future__ import annotations

import os
import socket
import time
from typing import TYPE_CHECKING

from smartrestart.exec.model import Probe, ProbeKind

if TYPE_CHECKING:
    import ssl

MAX_BODY = 64 * 1024
MAX_HEADER = 16 * 1024


def check(probe: Probe, timeout: float) -> str:
    """Run ``probe`` (not a log probe: the output relay matches those); "" when it passed."""
    try:
        if probe.kind is ProbeKind.TCP:
            return _tcp(probe, timeout)
        if probe.kind is ProbeKind.UNIX:
            return _unix(probe, timeout)
        if probe.kind in (ProbeKind.HTTP, ProbeKind.HTTPS):
            return _http(probe, timeout)
        if probe.kind is ProbeKind.FILE:
            return "" if os.path.exists(probe.path) else "no such file"  # noqa: PTH110
        if probe.kind is ProbeKind.CMD:
            return _command(probe, timeout)
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except OSError as exc:
        return exc.strerror or str(exc)
    return f"{probe.kind} probes are matched in the output"


def _tcp(probe: Probe, timeout: float) -> str:
    with socket.create_connection((probe.host, probe.port), timeout=timeout):
        return ""


def _unix(probe: Probe, timeout: float) -> str:
    address = "\0" + probe.path[1:] if probe.path.startswith("@") else probe.path
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(address)
    return ""


def _http(probe: Probe, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    raw = socket.create_connection((probe.host, probe.port), timeout=timeout)
    with raw:
        sock: socket.socket | ssl.SSLSocket = raw
        if probe.kind is ProbeKind.HTTPS:
            sock = _tls(raw, probe.host)
        host = f"[{probe.host}]" if ":" in probe.host else probe.host
        request = (
            f"GET {probe.path} HTTP/1.1\r\nHost: {host}:{probe.port}\r\n"
            "User-Agent: smartrestart-exec\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(request.encode("ascii", "replace"))
        response = _read(sock, deadline, want_body=probe.pattern is not None)
    head, _, body = response.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split()
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return f"not an HTTP response: {status_line[:80]!r}"
    status = int(parts[1])
    if status >= 400:
        return f"HTTP status {status}"
    if probe.pattern is not None and not probe.pattern.search(body.decode("utf-8", "replace")):
        return f"HTTP status {status}, but the body does not match {probe.pattern.pattern!r}"
    return ""


def _tls(raw: socket.socket, host: str) -> ssl.SSLSocket:
    import ssl

    context = ssl.create_default_context()
    return context.wrap_socket(raw, server_hostname=host)


def _read(sock: socket.socket | ssl.SSLSocket, deadline: float, *, want_body: bool) -> bytes:
    """The response until the headers end (or, with ``want_body``, the body's first bytes)."""
    data = b""
    limit = MAX_HEADER + (MAX_BODY if want_body else 0)
    while len(data) < limit:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        chunk = sock.recv(limit - len(data))
        if not chunk:
            break
        data += chunk
        if not want_body and b"\r\n\r\n" in data:
            break
    return data


def _command(probe: Probe, timeout: float) -> str:
    import subprocess

    try:
        result = subprocess.run(
            probe.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"still running after {timeout:g} s (killed)"
    if result.returncode != 0:
        return f"exited with status {result.returncode}"
    return ""
