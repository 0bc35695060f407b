"""Entry point: python -m vend_moto.server PORT  (127.0.0.1 only). Prints READY <port>."""

import signal
import sys
import threading
import urllib.request

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from . import install
from .control import VendMiddleware


def reset_backends() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or not (0 < int(sys.argv[1]) < 65536):
        print("usage: python -m vend_moto.server PORT", file=sys.stderr)
        return 2
    port = int(sys.argv[1])
    install()
    app = VendMiddleware(DomainDispatcherApplication(create_backend_app), reset_backends)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    # accepting requests: probe once through the real socket
    urllib.request.urlopen(f"http://127.0.0.1:{port}/_vend/health", timeout=10).read()
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
