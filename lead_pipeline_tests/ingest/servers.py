"""Real servers for ingest tests: an ASGI app under uvicorn on a free 127.0.0.1 port, and a TCP proxy that can
cut a backend (PostgreSQL) off and bring it back."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, Protocol, TypeVar

import uvicorn


class _Fault(Protocol):
    kind: str
    times: int

    def matches(self, path: str) -> bool: ...


FaultT = TypeVar("FaultT", bound=_Fault)


class FaultSchedule(Generic[FaultT]):
    """The faults a stand-in plays, first match first, each `times` times; thread-safe, since handlers
    run in server threads while the test sets faults."""

    def __init__(self, faults: Iterable[FaultT] = ()):
        self._lock = threading.Lock()
        self._faults = list(faults)

    def replace(self, faults: Iterable[FaultT]) -> None:
        with self._lock:
            self._faults = list(faults)

    def pending(self) -> list[FaultT]:
        with self._lock:
            return [f for f in self._faults if f.times > 0]

    def take(self, path: str) -> FaultT | None:
        """The next fault for `path`, used up once (an `ok` fault included: it lets one request through)."""
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.matches(path):
                    fault.times -= 1
                    return fault
        return None


@contextmanager
def running_app(app: Any, *, timeout: float = 10.0) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread on a free loopback port; yields its base URL."""
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets (else each response waits a delayed ACK)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
        sock.close()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to (host, port). `down()` drops every connection and refuses new ones (accepts
    and closes at once) until `up()`: from the client's side the backend has gone away."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._is_down = False
        self._closed = False
        threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True).start()

    def down(self) -> None:
        with self._lock:
            self._is_down = True
            sockets, self._open = self._open, set()
        for s in sockets:
            _close(s)

    def up(self) -> None:
        with self._lock:
            self._is_down = False

    def close(self) -> None:
        self._closed = True
        self.down()
        _close(self._listener)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refuse = self._is_down
            if refuse:
                _close(client)
                continue
            try:
                backend = socket.create_connection(self.target, timeout=5)
                backend.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, backend))
            for a, b in ((client, backend), (backend, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)
            with self._lock:
                self._open.discard(src)
                self._open.discard(dst)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass
