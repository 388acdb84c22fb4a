"""A TCP proxy that a test cuts and restores: the fault tests put it between the code and a real server
(PostgreSQL, NATS) to take the server away and give it back."""

import contextlib
import selectors
import socket
import threading


class CuttableProxy:
    """Forwards TCP connections to `target`. cut() drops every connection and refuses new ones: closes
    them on arrival, or with hold_new holds them unanswered (a server gone from the network: a client
    waits out its connect timeout) until restore() forwards them."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.up, self.hold_new = target, True, False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.held: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if not self.up:
                    if self.hold_new:
                        self.held.append(client)
                    else:
                        client.close()
                    continue
            self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        with self.lock:
            if not self.up:  # cut while it connected
                client.close()
                upstream.close()
                return
            self.pairs.append((client, upstream))
        threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in sel.select():
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()

    def cut(self, *, hold_new: bool = False) -> None:
        with self.lock:
            self.up, self.hold_new = False, hold_new
            for client, upstream in self.pairs:
                for sock in (client, upstream):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
            self.pairs.clear()

    def restore(self) -> None:
        with self.lock:
            self.up = True
            held, self.held = self.held, []
        for client in held:
            self._forward(client)

    def close(self) -> None:
        """Stop listening, and drop every connection."""
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self.listener.close()
        self.cut()
        with self.lock:
            held, self.held = self.held, []
        for client in held:
            client.close()
