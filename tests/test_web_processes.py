"""The web processes' own listening sockets (cli.web_processes)."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from live_web import SECRET
from servers import free_port, wait_for

from cli.web_processes import own_socket


def test_connections_on_a_process_socket_send_at_once_without_waiting_for_an_ack():
    """asyncio turns Nagle's algorithm off only on sockets that say they are TCP; with it on,
    a response written as head and then body waited 40 ms for the client's delayed ACK (every
    request with two web processes did, until the socket said IPPROTO_TCP)."""
    async def accepted_nodelay() -> int:
        listening = own_socket("127.0.0.1", 0)
        seen = asyncio.get_running_loop().create_future()

        class Protocol(asyncio.Protocol):
            def connection_made(self, transport):
                accepted = transport.get_extra_info("socket")
                seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Protocol, sock=listening)
        async with server:
            _, writer = await asyncio.open_connection(*listening.getsockname())
            nodelay = await asyncio.wait_for(seen, 10)
            writer.close()
        return nodelay

    # A thread of its own: the browser tests leave an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        nodelay = thread.submit(lambda: asyncio.run(accepted_nodelay())).result()
    assert nodelay != 0


def web_processes(supervisor: int) -> list[int]:
    """The supervisor's web processes (not multiprocessing's resource tracker)."""
    with open(f"/proc/{supervisor}/task/{supervisor}/children", encoding="ascii") as listed:
        children = [int(child) for child in listed.read().split()]
    return [pid for pid in children
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_a_web_process_that_does_not_answer_for_seconds_is_kept_with_its_requests(
        tmp_path, migrated_sqlite):
    """uvicorn's supervisor killed a process that missed its ping by 5 s; one starved of the
    CPU at start (web, worker and beat all start at once on two cores) was killed with a
    request it had read. A process stopped for 8 s stands in for it: still the same
    process afterwards, and it answers."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": migrated_sqlite(tmp_path / "web.db"),
           "SAGSGANG_VAR_DIR": str(tmp_path), "SAGSGANG_SECRET_KEY": SECRET}
    log = (tmp_path / "web.log").open("w")
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "cli.web_processes", "web.app:app", "--port", str(port),
         "--processes", "2"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: (tmp_path / "web.log").read_text().count("startup complete") == 2,
                 60, interval=0.2, what="both web processes started")
        before = web_processes(supervisor.pid)
        assert len(before) == 2
        os.kill(before[0], signal.SIGSTOP)
        time.sleep(8)
        with contextlib.suppress(ProcessLookupError):  # killed: the next lines say so
            os.kill(before[0], signal.SIGCONT)
        answers = [httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code
                   for _ in range(10)]  # a new connection each, spread by the kernel
        assert web_processes(supervisor.pid) == before
        assert "died" not in (tmp_path / "web.log").read_text()
        assert answers == [200] * 10
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(30)
        log.close()
