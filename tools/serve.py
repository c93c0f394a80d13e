"""Serve the built book over HTTP on this machine only, as `make serve` does.

    python tools/serve.py _build/html [--port 8000]

The book also reads from disk (open _build/html/index.html); served, it behaves as it will on a
web server. tests/test_book_browser.py reads the book through `serve` below.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import pathlib
import socketserver
import threading


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def serve(directory: pathlib.Path, port: int = 0):
    """Serve ``directory`` on 127.0.0.1 (a free port when ``port`` is 0) for the block; yields the URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    with _Server(("127.0.0.1", port), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}"
        finally:
            httpd.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the built book on this machine.")
    parser.add_argument("directory", type=pathlib.Path)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    with serve(args.directory, args.port) as url:
        print(f"The book is at {url}/index.html (Ctrl+C stops the server).", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
