"""Why agentload has its own RFC 6455 reader: frames per CPU-second, websocket-client against ours.

    .venv/bin/python -m bench.wsclient             # about 20 seconds

A server process answers the upgrade and writes 400,000 text frames of a typical streamed event
(~190 bytes of JSON, as the mock sends deltas) as fast as the socket takes them. The client, in this
process, reads them one message at a time; its CPU time is what each client costs per frame. The
stack's default is websocket-client, the brief allows an own client "only where a benchmark shows it
pays": this is that benchmark.
"""

from __future__ import annotations

import os
import socket
import time

from agentload.core.websocket import OP_TEXT, accept_key, encode_frame

from .harness import GEN_CORE, MOCK_CORE, banner, pin, table

FRAMES = 400_000
PAYLOAD = (
    b'{"type":"response.function_call_arguments.delta","item_id":"fc_0123456789abcdef0123456789abcdef0001",'
    b'"output_index":2,"delta":"{\\"pa","obfuscation":"x1y2z3","sequence_number":12345}'
)


def _serve(listener: socket.socket) -> None:
    """Child: one connection at a time, handshake, then FRAMES frames, then close."""
    block = encode_frame(OP_TEXT, PAYLOAD) * 1000  # (a server's frames: unmasked)
    while True:
        conn, _ = listener.accept()
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(4096)
        key = next(
            line.split(b":", 1)[1].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key")
        )
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n\r\n"
        )
        for _ in range(FRAMES // 1000):
            conn.sendall(block)
        conn.close()


def _measure(read_all: object) -> float:
    c0 = time.process_time()
    n = read_all()  # type: ignore[operator]
    c1 = time.process_time()
    assert n == FRAMES, n
    return FRAMES / (c1 - c0)


def main() -> None:
    banner(f"WebSocket readers: {FRAMES:,} frames of {len(PAYLOAD)} bytes")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    url = f"ws://127.0.0.1:{listener.getsockname()[1]}/v1/responses"
    pid = os.fork()
    if pid == 0:
        pin(0, MOCK_CORE)
        try:
            _serve(listener)
        finally:
            os._exit(0)
    pin(0, GEN_CORE)
    import websocket

    from agentload.client.wire.websocket import WsConnection

    def ours() -> int:
        c = WsConnection(url, {})
        c.connect()
        n = 0
        try:
            while True:
                c.recv_message()
                n += 1
        except ConnectionError:
            return n

    def wsc(validate: bool) -> int:
        ws = websocket.create_connection(url, skip_utf8_validation=not validate)
        n = 0
        try:
            while True:
                if not ws.recv():
                    return n
                n += 1
        except websocket.WebSocketConnectionClosedException:
            return n

    try:
        rows = []
        base = _measure(lambda: wsc(True))
        rows.append(["websocket-client 1.9 (UTF-8 validation on, its default)", base, 1.0])
        r = _measure(lambda: wsc(False))
        rows.append(["websocket-client 1.9 (skip_utf8_validation=True)", r, r / base])
        r = _measure(ours)
        rows.append(["agentload.wire.websocket (buffered reader)", r, r / base])
        print(table(["client", "frames per CPU-s", "x websocket-client default"], rows))
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
