"""The web processes of `sagsgang serve`: uvicorn's own supervisor (it restarts a process
that dies and drains them all on SIGTERM), each process listening on a socket of its own.

    python -m cli.web_processes web.app:app --host H --port P --processes N --grace S

Why not `uvicorn --workers N`: its processes share one listening socket, and Linux hands
each new connection to the process that waited on it last. Under load one process took
three quarters of the connections and kept them (browsers and proxies keep connections
open) while the other idled, and the slow pages of the one held up everything behind them.
With a socket per process, bound with SO_REUSEPORT to the same address, the kernel spreads
the connections over the processes by a hash of the client's address and port. Where there
is no SO_REUSEPORT (not Linux), the processes share one socket as under uvicorn.
"""

import argparse
import socket
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess

BACKLOG = 2048  # uvicorn's default
# uvicorn's supervisor pings each process every half second and kills one that has not
# answered within this many seconds (its default: 5). On two cores, where the web
# processes, the Celery worker and beat all start at once, a process starved of the CPU
# can be killed with a request it has read (its client gets a closed connection). A process
# that has not answered for half a minute is hung; one that was busy for five is not.
HEALTHCHECK_SECONDS = 30


def own_socket(host: str, port: int) -> socket.socket:
    """A listening socket in the SO_REUSEPORT group of host:port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # connections whose socket says it is TCP. Without it every response written in two
    # parts (head, then body) waited for the client's delayed acknowledgement: 40 ms each.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


class SocketPerProcess:
    """Stands in for the listening socket in what uvicorn's supervisor hands each process it
    starts (pickled to it): unpickled there, it is that process's own socket, bound anew, so
    a process started again after a crash gets one too."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port

    def __reduce__(self):
        return own_socket, (self.host, self.port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--grace", type=int, default=60)
    args = parser.parse_args()
    config = uvicorn.Config(args.app, host=args.host, port=args.port, workers=args.processes,
                            timeout_graceful_shutdown=args.grace, proxy_headers=True,
                            backlog=BACKLOG, timeout_worker_healthcheck=HEALTHCHECK_SECONDS)
    if args.processes == 1:
        uvicorn.Server(config).run()
        return
    if not hasattr(socket, "SO_REUSEPORT"):
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    try:  # here, once: a process that cannot bind would otherwise be restarted forever
        own_socket(args.host, args.port).close()
    except OSError as error:
        sys.exit(f"Fejl: kan ikke lytte på {args.host}:{args.port} ({error.strerror}).")
    Multiprocess(config, sockets=[SocketPerProcess(args.host, args.port)]).run()


if __name__ == "__main__":
    main()
