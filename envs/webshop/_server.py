"""The site's server: werkzeug on 127.0.0.1 in a background thread, shared and reference-counted.

Envs on the same catalog (and port choice) share one server: the first `acquire` starts it, each env's
`release` gives its reference back, and the last one stops it::

    server = acquire(catalog)            # a free port unless port= is given
    ...  server.url -> "http://127.0.0.1:41234"
    release(server)
"""

from __future__ import annotations

import queue
import socket
import threading
from dataclasses import dataclass, field

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

from serl_bench.errors import ConfigError, SerlBenchError

from ._data import Catalog

HOST = "127.0.0.1"
WORKERS = 16  #: connections served at once (a browser opens several; training runs many envs)
IDLE_CONNECTION_S = 10.0  #: a connection that sends no request for this long is closed


class SiteError(SerlBenchError, RuntimeError):
    """The WebShop site cannot be reached or answered with an error."""


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr (a training run makes thousands of requests), no Nagle delay (werkzeug writes
    headers and body separately), and a client that connects and says nothing frees its worker in time."""

    timeout = IDLE_CONNECTION_S

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, *args, **kwargs) -> None:
        pass


class _PooledWSGIServer(BaseWSGIServer):
    """werkzeug's server, its connections handled by a fixed pool of daemon threads. werkzeug's own threaded
    server starts a thread per connection and closes every connection after one response, so a thread is
    started per request: that alone doubles a text-mode step (about 1 ms of 2)."""

    multithread = True

    def __init__(self, *args, **kwargs) -> None:
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []  # werkzeug's __init__ calls server_close
        super().__init__(*args, **kwargs)
        self._workers = [threading.Thread(target=self._work, daemon=True, name=f"webshop-site-{self.port}-{i}")
                         for i in range(WORKERS)]
        for worker in self._workers:
            worker.start()

    def process_request(self, request, client_address) -> None:
        self._requests.put((request, client_address))

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
