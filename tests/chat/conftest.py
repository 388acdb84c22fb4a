"""A fake OpenAI-compatible provider on loopback: the SDK's real OpenAI models talk HTTP to it."""

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.conftest import serve_on_loopback


def tool_call(name: str, **arguments: Any) -> dict[str, Any]:
    """A scripted step: the model asks for this tool call."""
    return {"tool_call": (name, arguments)}


def reply(text: str) -> dict[str, Any]:
    """A scripted step: the model answers with this text."""
    return {"content": text}


def failure(status: int, retry_after: int | None = None) -> dict[str, Any]:
    """A scripted step: the provider answers with this HTTP error."""
    return {"status": status, "retry_after": retry_after}


def slow(seconds: float) -> dict[str, Any]:
    """A scripted step: the provider does not answer for this long."""
    return {"delay": seconds}


@dataclass
class FakeProvider:
    """Serves `script` one step per request, in order; remembers every request body."""

    base_url: str = ""
    script: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_step(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.requests.append(body)
            if not self.script:
                return failure(500)
            return self.script.pop(0)


def _completion(step: dict[str, Any], model: str) -> dict[str, Any]:
    if "tool_call" in step:
        name, arguments = step["tool_call"]
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{time.monotonic_ns()}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(arguments)},
                }
            ],
        }
        finish = "tool_calls"
    else:
        message, finish = {"role": "assistant", "content": step["content"]}, "stop"
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _response(step: dict[str, Any], model: str) -> dict[str, Any]:
    """The Responses API's answer (POST /v1/responses) for one step."""
    if "tool_call" in step:
        name, arguments = step["tool_call"]
        call_id = f"call_{time.monotonic_ns()}"
        item = {"type": "function_call", "id": f"fc_{call_id}", "call_id": call_id, "name": name,
                "arguments": json.dumps(arguments), "status": "completed"}  # fmt: skip
    else:
        item = {"type": "message", "id": f"msg_{time.monotonic_ns()}", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": step["content"], "annotations": []}]}  # fmt: skip
    return {
        "id": f"resp_{time.monotonic_ns()}", "object": "response", "created_at": int(time.time()), "model": model,
        "status": "completed", "output": [item], "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    }  # fmt: skip


def _chunks(step: dict[str, Any], model: str) -> Iterator[dict[str, Any]]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    if "tool_call" in step:
        name, arguments = step["tool_call"]
        call = {
            "index": 0,
            "id": f"call_{time.monotonic_ns()}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }
        yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [call]}}]}
        yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
        return
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    for word in step["content"].split(" "):
        yield {**base, "choices": [{"index": 0, "delta": {"content": word + " "}}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}


@pytest.fixture
def fake_provider(settings: Any) -> Iterator[FakeProvider]:
    """Point the chat at a fake Chat Completions server; tests fill `fake_provider.script`."""
    provider = FakeProvider()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            step = provider.next_step(body)
            time.sleep(step.get("delay", 0))
            if "delay" in step:
                step = reply("too late")
            if "status" in step:
                payload = json.dumps({"error": {"message": "scripted failure", "type": "server_error"}}).encode()
                self.send_response(step["status"])
                if step.get("retry_after"):
                    self.send_header("Retry-After", str(step["retry_after"]))
                self._send_body(payload, "application/json")
                return
            if body.get("stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in _chunks(step, body["model"]):
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.close_connection = True
                return
            answer = _response if self.path.endswith("/responses") else _completion
            self.send_response(200)
            self._send_body(json.dumps(answer(step, body["model"])).encode(), "application/json")

        def _send_body(self, payload: bytes, content_type: str) -> None:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    with serve_on_loopback(Handler) as port:
        provider.base_url = f"http://127.0.0.1:{port}/v1"
        settings.OPENAI_API_KEY = "sk-test-not-a-real-key"
        settings.OPENAI_BASE_URL = provider.base_url
        settings.CHAT_MODEL = "fake-model"
        yield provider
