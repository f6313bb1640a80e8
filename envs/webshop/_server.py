"""The site's server: werkzeug on 127.0.0.1 in a background thread, shared and reference-counted.

Envs on the same catalog (and port choice) share one server: the first `acquire` starts it, each env's
`release` gives its reference back, and the last one stops it::

    server = acquire(catalog)            # a free port unless port= is given
    ...  server.url -> "http://127.0.0.1:41234"
    release(server)
"""

from __future__ import annotations

import io
import queue
import select
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

from serl_bench.errors import ConfigError, SerlBenchError

from ._data import Catalog

HOST = "127.0.0.1"
WORKERS = 32  #: requests handled at once (a browser opens several connections; training runs many envs)
IDLE_CONNECTION_S = 10.0  #: a connection that sends nothing for this long is closed; it waits outside the workers
REQUEST_S = 5.0  #: a request must arrive whole within this long of its first byte, however slowly it trickles
WRITE_S = 10.0  #: a response write to a client that does not read ends after this long
_TICK_S = 0.25  #: how often idle connections are checked for expiry


class SiteError(SerlBenchError, RuntimeError):
    """The WebShop site cannot be reached or answered with an error."""


class _DeadlineReader(io.RawIOBase):
    """A connection's raw reader: every read waits at most until ``deadline``, so a client that sends a byte
    now and then cannot hold a worker longer than `REQUEST_S` (a socket timeout alone is per read)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the request did not arrive within {REQUEST_S:g} s")
        self._sock.settimeout(left)
        return self._sock.recv_into(buffer)


class _Writer(io.BufferedIOBase):
    """A connection's writer: each send waits at most `WRITE_S` for a client that does not read."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._sock.settimeout(WRITE_S)
        self._sock.sendall(data)
        with memoryview(data) as view:
            return view.nbytes


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr (a training run makes thousands of requests), no Nagle delay (werkzeug writes
    headers and body separately), and a request that does not arrive whole within `REQUEST_S` (a silent or
    trickling client) is dropped, freeing its worker."""

    def setup(self) -> None:
        self.connection = self.request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, time.monotonic() + REQUEST_S))
        self.wfile = _Writer(self.connection)

    def log_request(self, *args, **kwargs) -> None:
        pass

    def log_error(self, format: str, *args) -> None:
        if not format.startswith("Request timed out"):  # a slow client, dropped as designed
            super().log_error(format, *args)


class _PooledWSGIServer(BaseWSGIServer):
    """werkzeug's server, its connections handled by a fixed pool of daemon threads. werkzeug's own threaded
    server starts a thread per connection (werkzeug closes every connection after one response, so a thread is
    started per request: that alone doubles a text-mode step, about 1 ms of 2).

    A connection gets a worker only once it has sent something: until then it waits in a selector (at most
    `IDLE_CONNECTION_S`), so clients that connect and say nothing never hold a worker, and a worker gives up
    on a request that has not arrived whole within `REQUEST_S`. Slow clients cannot stall the site."""

    multithread = True

    def __init__(self, *args, **kwargs) -> None:
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []  # werkzeug's __init__ calls server_close
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._waiting_lock = threading.Lock()
        self._closing = False
        self._watcher: threading.Thread | None = None
        super().__init__(*args, **kwargs)
        self._workers = [threading.Thread(target=self._work, daemon=True, name=f"webshop-site-{self.port}-{i}")
                         for i in range(WORKERS)]
        self._watcher = threading.Thread(target=self._watch, daemon=True, name=f"webshop-site-{self.port}-idle")
        for thread in (*self._workers, self._watcher):
            thread.start()

    def process_request(self, request, client_address) -> None:
        if select.select([request], [], [], 0)[0]:  # the usual case: the request is already there
            self._requests.put((request, client_address))
            return
        with self._waiting_lock:
            if self._closing:
                self.shutdown_request(request)
                return
            self._selector.register(request, selectors.EVENT_READ,
                                    (client_address, time.monotonic() + IDLE_CONNECTION_S))
        try:
            self._wake_w.send(b"x")
        except OSError:  # the wake-up buffer is full: the watcher is awake anyway
            pass

    def _watch(self) -> None:
        """Hand connections that have sent something to the workers; close those idle too long."""
        checked = time.monotonic()
        while not self._closing:
            try:
                events = self._selector.select(timeout=_TICK_S)
            except (OSError, ValueError):  # closed under us
                return
            for key, _ in events:
                if key.data is None:
                    try:
                        self._wake_r.recv(4096)
                    except OSError:
                        pass
                    continue
                with self._waiting_lock:
                    self._selector.unregister(key.fileobj)
                self._requests.put((key.fileobj, key.data[0]))
            now = time.monotonic()
            if now - checked >= _TICK_S:
                checked = now
                with self._waiting_lock:
                    idle = [k for k in self._selector.get_map().values() if k.data is not None and k.data[1] < now]
                    for key in idle:
                        self._selector.unregister(key.fileobj)
                for key in idle:
                    self.shutdown_request(key.fileobj)

    def _work(self) -> None:
        while (item := self._requests.get()) is not None:
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        if self._watcher is None or self._closing:  # werkzeug's __init__ closes the socket it replaces with ``fd``
            return
        with self._waiting_lock:
            self._closing = True
            waiting = [k.fileobj for k in self._selector.get_map().values() if k.data is not None]
            for sock in waiting:
                self._selector.unregister(sock)
        for sock in waiting:
            self.shutdown_request(sock)
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._watcher.join(timeout=2 * _TICK_S)
        if not self._watcher.is_alive():
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()
        for _ in self._workers:
            self._requests.put(None)


@dataclass(eq=False)
class SiteServer:
    """One running server; ``refs`` counts the envs using it."""

    catalog: Catalog
    port: int
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    refs: int = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def shop(self):
        """The site's state (sessions, catalog, index): `serl_bench.envs.webshop._site.Shop`."""
        return self._server.app.extensions["webshop"]

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()


_SERVERS: dict[tuple[str, int | None], SiteServer] = {}
_LOCK = threading.Lock()


def acquire(catalog: Catalog, *, port: int | None = None) -> SiteServer:
    """A running server for ``catalog``: the shared one, or a new one on ``port`` (default: a free port).

    Raises ConfigError when ``port`` is taken by another program.
    """
    key = (catalog.fingerprint, port)
    with _LOCK:
        server = _SERVERS.get(key)
        if server is None or not server.running:
            server = _SERVERS[key] = _start(catalog, port)
        server.refs += 1
        return server


def release(server: SiteServer) -> None:
    """Give back one reference; the last one stops the server."""
    with _LOCK:
        server.refs -= 1
        if server.refs > 0:
            return
        for key, running in list(_SERVERS.items()):
            if running is server:
                del _SERVERS[key]
    server.stop()


def running_servers() -> list[SiteServer]:
    with _LOCK:
        return list(_SERVERS.values())


def _start(catalog: Catalog, port: int | None) -> SiteServer:
    from ._site import create_app

    app = create_app(catalog)
    sock = _bind(port)
    try:
        server = _PooledWSGIServer(HOST, sock.getsockname()[1], app, handler=_QuietHandler, fd=sock.fileno())
    finally:
        sock.close()  # the server serves a duplicate of the descriptor
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                              name=f"webshop-site-{server.port}")
    thread.start()
    return SiteServer(catalog=catalog, port=server.port, _server=server, _thread=thread)


def _bind(port: int | None) -> socket.socket:
    if port is not None and not (isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536):
        raise ConfigError(f"WebShop port must be a number from 1 to 65535, got {port!r}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port or 0))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot serve the WebShop site on {HOST}:{port} ({exc.strerror}): stop what uses the "
                          "port, or pick another with port=N, or leave port unset for a free one") from None
    return sock
