"""An OpenAI-compatible chat server that answers every request after a fixed latency, for throughput benchmarks.

One asyncio event loop serves every connection, so hundreds of requests per second cost it a fraction of a core and
the client under test, not the server, sets the pace. (The threaded test server in ``tests/unit/llm`` holds the
pace to about half of a 320 requests/s bound on two cores, whatever the client: its 32 threads wake together and queue
for the interpreter lock.) HTTP/1.1 with keep-alive and ``Content-Length`` bodies only: what API clients send.

Usage: ``python benchmarks/latency_server.py --latency 0.1`` prints ``PORT <n>`` and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import json


def completion(request: bytes) -> bytes:
    """The HTTP response to one chat completions request body: the last user message, echoed."""
    body = json.loads(request)
    text = f"收到：{body['messages'][-1]['content']}"
    message = {"role": "assistant", "content": text}
    usage = {"prompt_tokens": len(request) // 4, "completion_tokens": len(text), "total_tokens": len(request) // 4}
    payload = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "bench"),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": usage,
    }
    data = json.dumps(payload, ensure_ascii=False).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency_s: float) -> None:
    """Answer the requests of one keep-alive connection in turn, each after ``latency_s``."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            request = await reader.readexactly(length)
            await asyncio.sleep(latency_s)
            writer.write(completion(request))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError):
        pass  # the client closed the connection
    finally:
        writer.close()


async def main(latency_s: float) -> None:
    server = await asyncio.start_server(lambda r, w: serve_connection(r, w, latency_s), "127.0.0.1", 0, backlog=1024)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="serve fixed-latency chat completions until killed")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds before every answer")
    asyncio.run(main(parser.parse_args().latency))
