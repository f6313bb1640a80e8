"""Serve the WebShop site for a person to browse: ``python -m serl_bench.envs.webshop [--port N]``."""

from __future__ import annotations

import argparse
import sys
import threading

from serl_bench.errors import SerlBenchError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serl_bench.envs.webshop", description=__doc__)
    parser.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--num-products", type=int, default=1000, help="generated catalog size (default: 1000)")
    parser.add_argument("--data-path", default=None, help="folder with the original WebShop JSON files")
    args = parser.parse_args(argv)
    from . import _server
    from ._catalog import load_catalog

    try:
        server = _server.acquire(load_catalog(args.num_products, data_path=args.data_path), port=args.port)
    except SerlBenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"WebShop at {server.url}/ (a random goal per new session; /<session>?goal=N picks one); Ctrl-C stops it")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        _server.release(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
