"""A local OpenAI-compatible provider that answers slowly, for the benchmark's chat streams (--stream-delay)."""

import http.server
import json
import threading
import time

WAITING = [0]  # requests waiting for their answer now (the chat-turns scenario reads it)
_lock = threading.Lock()


def slow_model(seconds: float) -> str:
    """Serve an OpenAI-compatible Chat Completions API whose every answer takes `seconds`, as a real
    model's would (the offline model answers at once): streamed as 20 words over that time, or, for a
    request that does not stream, whole at its end; return its base URL. A thread per request, so any
    number of turns wait together."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if not body.get("stream"):
                with _lock:
                    WAITING[0] += 1
                time.sleep(seconds)
                with _lock:
                    WAITING[0] -= 1
                message = {"role": "assistant", "content": " ".join(f"word{n}" for n in range(20))}
                answer = json.dumps({"id": "bench", "object": "chat.completion", "created": 0, "model": "bench",
                                     "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                                     "usage": {"prompt_tokens": 1, "completion_tokens": 20,
                                               "total_tokens": 21}})  # fmt: skip
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer.encode())
                return
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

    class Server(http.server.ThreadingHTTPServer):
        request_queue_size = 1024  # turns connect all at once: a backlog of 5 would drop their SYNs
        daemon_threads = True

    provider = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=provider.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{provider.server_port}/v1"
