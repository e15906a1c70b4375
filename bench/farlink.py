"""A far link on loopback: a TCP proxy that delays each direction by a fixed
time and caps its rate, optionally ending TLS for the server behind it.

This machine's kernel has no netem, so the benchmark brings its own link.
Bytes are forwarded in order, each chunk at its arrival time plus the
one-way delay, so the delay is per round trip, not per chunk; the rate cap
is one per direction, shared by every connection through the link, as a
real link's is. Both tools under test go through the same link.

    link = FarLink(target_port, one_way_s=0.020, rate_bps=200e6, tls=(cert, key))
    link.start()          # link.port is where clients connect
    ...
    link.stop()

An FTP server opens a data connection on a port it names in each reply, so
its link stands in front of every port it offers, at the same numbers, on
an address of its own: the server listens on one loopback address and
names the link's in its passive replies (pure-ftpd's -P), and the link
forwards each port of the other address to the same port behind it.

    link = FarLink(None, same_ports=[control] + passive, listen_host="127.0.0.3",
                   target_host="127.0.0.2")
"""

import asyncio
import collections
import socket
import ssl
import threading
import time

CHUNK = 64 * 1024


class Direction:
    """One direction of the link: its delay, and when its wire is free."""

    def __init__(self, one_way_s, rate_bps):
        self.one_way_s = one_way_s
        self.rate_bps = rate_bps
        self.free_at = 0.0

    def departure(self, due, size):
        """When `size` bytes due at `due` have left the wire."""
        start = max(due, self.free_at)
        self.free_at = start + size * 8 / self.rate_bps
        return self.free_at


class FarLink:
    def __init__(self, target_port, one_way_s=0.020, rate_bps=200e6, tls=None, same_ports=(),
                 listen_host="127.0.0.1", target_host="127.0.0.1"):
        self.target_port = target_port
        # Ports forwarded at their own number, from listen_host to
        # target_host; all share the link's two directions.
        self.same_ports = list(same_ports)
        self.listen_host = listen_host
        self.target_host = target_host
        self.up = Direction(one_way_s, rate_bps)
        self.down = Direction(one_way_s, rate_bps)
        self.tls = tls
        self.port = None
        self._loop = None
        self._thread = None
        self._ready = threading.Event()

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self.port is None:
            raise RuntimeError("the far link did not start")
        return self

    def stop(self):
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._shut_down)
        if self._thread is not None:
            self._thread.join(5)

    def _shut_down(self):
        # Connections cut by the shutdown are expected: say nothing of them.
        self._loop.set_exception_handler(lambda loop, context: None)

        async def close_all():
            tasks = [t for t in asyncio.all_tasks(self._loop) if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()
        self._loop.create_task(close_all())

    def _run(self):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        servers = []
        target = self.target_port
        if self.tls:
            # TLS ends behind the link, as at a far endpoint: the handshake's
            # round trips cross the delay like every other byte.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            terminator, target = self._listen(self._forward(self.target_port, None), context)
            servers.append(terminator)
        if target is not None:
            link, self.port = self._listen(self._forward(target, (self.up, self.down)), None)
            servers.append(link)
        for port in self.same_ports:
            link, _ = self._listen(self._forward(port, (self.up, self.down)), None, port)
            servers.append(link)
            self.port = self.port or port
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            for server in servers:
                server.close()
            self._loop.close()

    def _listen(self, handler, context, port=0):
        # IPPROTO_TCP named, not left 0: asyncio turns Nagle's algorithm off
        # (TCP_NODELAY) only on sockets whose protocol says TCP, and an
        # accepted socket takes the listening one's. With Nagle on, the
        # link's last small write of a response waited for the receiver's
        # delayed ACK: 40 ms stalls that no real link adds.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.listen_host, port))
        server = self._loop.run_until_complete(
            asyncio.start_server(handler, sock=sock, ssl=context, backlog=256))
        return server, sock.getsockname()[1]

    def _forward(self, port, directions):
        """A handler that connects each client to `port`, through the two
        directions of the link, or straight."""
        async def serve(client_reader, client_writer):
            accepted = client_writer.get_extra_info("socket")
            if accepted is not None:
                accepted.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                server_reader, server_writer = await asyncio.open_connection(self.target_host, port)
            except OSError:
                client_writer.close()
                return
            up, down = directions or (None, None)
            await asyncio.gather(
                self._pump(client_reader, server_writer, up),
                self._pump(server_reader, client_writer, down),
                return_exceptions=True,
            )
        return serve

    async def _pump(self, reader, writer, direction):
        """Forwards what `reader` gives to `writer`, each chunk delayed and
        paced by `direction`; a sender task keeps the order."""
        queue = collections.deque()
        arrived = asyncio.Event()
        done = False

        async def send():
            while True:
                while not queue:
                    if done:
                        return
                    arrived.clear()
                    await arrived.wait()
                leave_at, data = queue.popleft()
                wait = leave_at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
            try:
                writer.write_eof()
            except (OSError, RuntimeError, AttributeError):
                writer.close()

        sender = asyncio.ensure_future(send())
        try:
            while True:
                data = await reader.read(CHUNK)
                now = time.monotonic()
                due = now + direction.one_way_s if direction else now
                if not data:
                    queue.append((due, None))
                    arrived.set()
                    break
                leave_at = direction.departure(due, len(data)) if direction else now
                queue.append((leave_at, data))
                arrived.set()
        except (OSError, ConnectionError):
            queue.append((0, None))
            arrived.set()
        finally:
            done = True
            arrived.set()
        try:
            await sender
        except (OSError, ConnectionError):
            pass
        finally:
            try:
                writer.close()
            except RuntimeError:
                pass  # the loop is shutting down
