"""The web processes' own listening sockets (cli.web_processes)."""

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

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
