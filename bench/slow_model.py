"""A local OpenAI-compatible provider that answers slowly, for the benchmark's chat streams (--stream-delay)."""

import http.server
import json
import threading
import time


def slow_model(seconds: float) -> str:
    """Serve an OpenAI-compatible Chat Completions API whose every answer streams 20 words over
    `seconds`, as a real model's would (the offline model answers at once); return its base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()  # HTTP/1.0: the end of the stream is the end of the connection
            for n in range(21):
                time.sleep(seconds / 21)
                delta, finish = ({"content": f"word{n} "}, None) if n < 20 else ({}, "stop")
                chunk = {"id": "bench", "object": "chat.completion.chunk", "created": 0, "model": "bench",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

        def log_message(self, *args: object) -> None:
            pass

    provider = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=provider.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{provider.server_port}/v1"
