"""A local chat server for tests and benchmarks: OpenAI chat completions and Anthropic messages on 127.0.0.1.

It answers with a ``responder(chat) -> text`` and injects faults on demand, either queued (:meth:`inject`) or at
random (``fault_rate``): ``429`` (with ``Retry-After``), ``500``, ``slow`` (answers after ``slow_s``, past a client's
timeout), ``malformed`` (a 200 whose body is not JSON) and ``noscore`` (a valid answer with no score or task in it).
It counts every request and records the fingerprint of each one it answered.

Run alone (for the throughput benchmark): ``python -m tests.unit.llm.fake_server --latency 0.1`` prints
``PORT <n>`` and serves until killed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Chat = list[dict[str, str]]
Responder = Callable[[Chat], str]
FAULTS = ("429", "500", "slow", "malformed", "noscore")
NO_SCORE = "这个回答整体不错，条理清楚。"


def echo(chat: Chat) -> str:
    """Answer with the last user message."""
    return f"收到：{chat[-1]['content']}"


def fingerprint(path: str, body: dict[str, Any]) -> str:
    """A request's identity: its path and canonical JSON body."""
    return hashlib.sha256(f"{path}\n{json.dumps(body, sort_keys=True, ensure_ascii=False)}".encode()).hexdigest()


class FakeLLMServer:
    """A threaded HTTP server speaking both wire formats; use it as a context manager.

    Args:
        responder: Produces the answer text for a chat.
        latency_s: Fixed delay before every answer.
        fault_rate: Share of requests given a random fault from ``faults``.
        faults: The faults drawn at random.
        slow_s: How long a ``slow`` fault takes.
        retry_after: The ``Retry-After`` header of a 429.
        api_key: When set, requests must carry it (``Authorization: Bearer`` or ``x-api-key``); others get a 401
            whose message quotes the key they sent, masked as real servers do (``sk-proj-****5678``).
        mask_prefix: How many of the key's first characters that quote shows.
        seed: Seed of the random faults.
    """

    def __init__(
        self,
        responder: Responder = echo,
        *,
        latency_s: float = 0.0,
        fault_rate: float = 0.0,
        faults: tuple[str, ...] = FAULTS,
        slow_s: float = 1.0,
        retry_after: str = "0.01",
        api_key: str | None = None,
        mask_prefix: int = 8,
        seed: int = 0,
    ) -> None:
        self.mask_prefix = mask_prefix
        self.responder = responder
        self.latency_s = latency_s
        self.fault_rate = fault_rate
        self.faults = faults
        self.slow_s = slow_s
        self.retry_after = retry_after
        self.api_key = api_key
        self._rng = random.Random(seed)
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()
        self.hits = 0
        self.statuses: Counter[int] = Counter()
        self.faulted: Counter[str] = Counter()
        self.answered: list[str] = []  # fingerprints of requests answered with a valid completion
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []  # (path, body, headers)
        self.in_flight = 0
        self.max_in_flight = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start the server first"
        return self._server.server_address[1]

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inject(self, *faults: str) -> None:
        """Give the next requests these faults, in order."""
        unknown = set(faults) - {*FAULTS, "400"}
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}")
        with self._lock:
            self._queue.extend(faults)

    def start(self) -> FakeLLMServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real API servers
            disable_nagle_algorithm = True  # headers and body leave at once, as with real servers

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner._handle(self, raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_fault(self) -> str | None:
        if self._queue:
            return self._queue.popleft()
        if self.fault_rate and self._rng.random() < self.fault_rate:
            return self._rng.choice(self.faults)
        return None

    def _handle(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        with self._lock:
            self.hits += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            fault = self._next_fault()
            if fault:
                self.faulted[fault] += 1
        try:
            self._respond(handler, raw, fault)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _respond(self, handler: BaseHTTPRequestHandler, raw: bytes, fault: str | None) -> None:
        body = json.loads(raw)
        path = handler.path
        anthropic = path.endswith("/v1/messages")
        with self._lock:
            self.requests.append((path, body, dict(handler.headers)))
        sent_key = handler.headers.get("x-api-key") or handler.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.api_key is not None and sent_key != self.api_key:
            masked = f"{sent_key[: self.mask_prefix]}****{sent_key[-4:]}"  # as OpenAI quotes a wrong key
            return self._send(handler, 401, {"error": {"message": f"Incorrect API key provided: {masked}"}})
        if self.latency_s:
            time.sleep(self.latency_s)
        if fault == "429":
            error = {"error": {"message": "Rate limit reached"}}
            return self._send(handler, 429, error, {"Retry-After": self.retry_after})
        if fault in ("500", "400"):
            return self._send(handler, int(fault), {"error": {"message": f"fault {fault}"}})
        if fault == "malformed":
            return self._send(handler, 200, b'{"choices": [{"message": ')
        if fault == "slow":
            time.sleep(self.slow_s)
        chat = ([{"role": "system", "content": body["system"]}] if body.get("system") else []) + body["messages"]
        text = NO_SCORE if fault == "noscore" else self.responder(chat)
        usage = {"prompt_tokens": len(raw) // 4, "completion_tokens": len(text)}
        if anthropic:
            payload = {
                "type": "message",
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"]},
            }
        else:
            message = {"role": "assistant", "content": text}
            payload = {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": usage}
        if self._send(handler, 200, payload):
            with self._lock:
                self.answered.append(fingerprint(path, body))
        return None

    def _send(
        self, handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> bool:
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        with self._lock:
            self.statuses[status] += 1
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(data)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout): nothing to answer
            return False
        return True


def medical_responder(lexicon: list[str]) -> Responder:
    """Answers CrossFilter's requests like a cooperative model: tasks for Self-Instruct prompts, JSON scores for
    judge prompts (and verdicts or 1-5 scores for the benchmark judge's), all derived from a hash of the prompt, so
    answers are deterministic. Every answer of four or more tasks holds exactly one refusal, at a place the hash
    picks, so the cleaning rules always have one to catch whatever order concurrent requests arrive in.
    """

    def respond(chat: Chat) -> str:
        prompt = chat[-1]["content"]
        digest = int(hashlib.sha256(json.dumps(chat, ensure_ascii=False).encode()).hexdigest(), 16)
        rng = random.Random(digest)
        if "JSON数组" in prompt:
            count = int(re.search(r"编写(\d+)条", prompt).group(1))
            refusal_at = digest % count if count >= 4 else None
            tasks = [_task(rng, lexicon, refuse=index == refusal_at) for index in range(count)]
            return json.dumps(tasks, ensure_ascii=False)
        if "[[A]]" in prompt:  # the benchmark judge comparing two answers
            return "两个回答各有侧重。" + rng.choice(["[[A]]", "[[B]]", "[[C]]"])
        if "[待评价的回答]" in prompt:  # the benchmark judge scoring one answer on its example's criteria
            names = re.findall(r'"([a-z_]+)": \d+', prompt.rsplit("例如：", 1)[-1])
            return "理由：要点基本齐全。\n" + json.dumps({name: rng.randint(1, 5) for name in names})
        names = re.findall(r'"([a-z_]+)": "整数"', prompt)
        return json.dumps({name: rng.randint(3, 10) for name in names})

    return respond


def _task(rng: random.Random, lexicon: list[str], refuse: bool) -> dict[str, str]:
    a, b, c = rng.sample(lexicon, 3)
    templates = [
        "{a}在{b}中有什么作用？",
        "如何处理{a}合并{b}的患者？",
        "比较{a}与{b}的区别。",
        "简述{a}的适应证和{b}的风险。",
    ]
    instruction = rng.choice(templates).format(a=a, b=b) + f"（第{rng.randint(1, 99999)}例）"
    if refuse:
        return {"instruction": instruction, "input": "", "output": "作为一个AI语言模型，我无法提供医疗建议。"}
    output = f"{a}与{b}的关系需结合{c}综合评估：先明确适应证，再按体重计算剂量，并密切监测生命体征。"
    return {"instruction": instruction, "input": "", "output": output}


def main() -> None:
    parser = argparse.ArgumentParser(description="serve the fake chat server until killed")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    args = parser.parse_args()
    server = FakeLLMServer(latency_s=args.latency).start()
    print(f"PORT {server.port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
