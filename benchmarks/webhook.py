"""Webhook receiver throughput and latency on loopback, with durability checked afterwards.

    .venv/bin/python benchmarks/webhook.py [--deliveries 5000] [--concurrency 32] [--store-url URL]
                                           [--client httpx|raw] [--quick]

Starts, each in its own process under uvicorn on 127.0.0.1 (a free port):

* baseline - a trivial Starlette endpoint that reads the body and answers 202 (no signature, no store);
* receiver - `lead_pipeline.ingest.webhook.create_app` on an operational store (SQLite in a temp dir by default,
  `--store-url postgresql://...` for PostgreSQL; a PostgreSQL store gets a fresh schema, dropped afterwards).

Then sends the same N signed MailParse deliveries (distinct event ids, ~1.5 KB JSON, `t=,v1=` signatures
computed before the clock starts) to each, from `--concurrency` concurrent keep-alive connections, and reports
deliveries/s, p50/p90/p99/max latency and the statuses. Afterwards every delivery the receiver acknowledged with
202 is looked up in the store: the run fails (exit 1) if one is missing.

The load generator runs in this process; `--client raw` (default) is a minimal asyncio HTTP/1.1 client, so the
generator is not the bottleneck on a small machine; `--client httpx` uses one httpx.AsyncClient per connection
(on a 2-core machine it tops out near 450 requests/s even against the trivial endpoint, so it measures itself).
Bounded: at most `--deliveries` requests per server and `--time-limit` seconds per phase. Not a test: numbers
are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SECRET = "bench-secret"


# --------------------------------------------------------------------------------------------
# Servers (run in child processes: `webhook.py --serve KIND --fd N`)
# --------------------------------------------------------------------------------------------


def _baseline_app():
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def accept(request):
        await request.body()
        return Response(b'{"ok":true}', status_code=202, media_type="application/json")

    return Starlette(routes=[Route("/webhooks/mailparse", accept, methods=["POST"])])


def _receiver_app(store_url: str):
    from lead_pipeline.ingest.webhook import create_app
    from lead_pipeline.stores.operational import OperationalStore

    store = OperationalStore(store_url)
    store.ensure_schema()
    return create_app(store, secrets=[SECRET])


def serve(kind: str, fd: int, store_url: str | None) -> None:
    import uvicorn

    app = _baseline_app() if kind == "baseline" else _receiver_app(store_url or "")
    # The inherited socket is rebuilt as TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto is
    # IPPROTO_TCP (`uvicorn --fd` rebuilds it as AF_UNIX), and without it every response waits for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=fd)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class Server:
    process: subprocess.Popen
    port: int

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(kind: str, store_url: str | None) -> Server:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    command = [sys.executable, __file__, "--serve", kind, "--fd", str(sock.fileno())]
    if store_url:
        command += ["--store-url", store_url]
    process = subprocess.Popen(command, pass_fds=(sock.fileno(),))
    sock.close()  # the child holds it now
    server = Server(process, port)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{kind} server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if probe.recv(64).startswith(b"HTTP/1.1"):
                    return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise SystemExit(f"{kind} server did not start")


# --------------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------------


def deliveries(n: int, run_id: str) -> list[tuple[str, bytes, str]]:
    """(event id, body, X-Signature) for n distinct realistic deliveries, signed now."""
    from lead_pipeline.ingest.webhook import sign

    now = int(time.time())
    out = []
    for i in range(n):
        event_id = f"evt_{run_id}_{i:07d}"
        payload = {
            "id": event_id,
            "messageId": f"<bench-{run_id}-{i}@mail.company{i % 97}.example>",
            "receivedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - i)),
            "alias": ("demo", "sales", "partners")[i % 3] + "@yourcompany.example",
            "envelope": {"mailFrom": f"person{i}@company{i % 97}.example", "rcptTo": ["demo@yourcompany.example"]},
            "from": {"email": f"person{i}@company{i % 97}.example", "name": f"Person {i}"},
            "to": [{"email": "demo@yourcompany.example", "name": "Demo"}],
            "cc": [], "replyTo": [],
            "subject": f"Requesting a product demo ({i})",
            "text": ("Hi, we are evaluating your API for a new project and would like a demo next week for our "
                     f"team of {10 + i % 200}. Could you share pricing for the enterprise tier as well? ") * 4,
            "html": None,
            "headers": {"dkim": "pass", "spf": "pass", "dmarc": "pass"},
            "spamScore": 0.4,
            "attachments": [],
            "thread": {"inReplyTo": None, "references": []},
        }
        body = json.dumps(payload).encode()
        out.append((event_id, body, sign(body, SECRET, timestamp=now)))
    return out


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    acknowledged: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def record(self, status: str, latency: float, event_id: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(latency)
        if status == "202":
            self.acknowledged.append(event_id)

    def summary(self) -> str:
        lat = sorted(self.latencies)
        if not lat:
            return f"{self.name:9} no requests completed"

        def q(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

        rate = len(lat) / self.elapsed if self.elapsed else 0.0
        return (f"{self.name:9} {len(lat):6d} requests in {self.elapsed:6.2f} s  {rate:8.0f}/s   "
                f"p50 {q(0.50):6.1f} ms  p90 {q(0.90):6.1f} ms  p99 {q(0.99):6.1f} ms  max {lat[-1] * 1000:7.1f} ms  "
                f"mean {statistics.fmean(lat) * 1000:5.1f} ms  statuses {dict(sorted(self.statuses.items()))}")

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def p99_ms(self) -> float:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000 if lat else float("nan")


class RawConnection:
    """A minimal keep-alive HTTP/1.1 client connection (Content-Length bodies only), cheap on CPU."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            await self.close()
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            elif name.strip().lower() == "connection" and value.strip().lower() == "close":
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


async def run_load(name: str, port: int, work: list[tuple[str, bytes, str]], concurrency: int, client_kind: str,
                   time_limit: float) -> Phase:
    phase = Phase(name)
    queue: asyncio.Queue = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    deadline = time.perf_counter() + time_limit

    async def worker_raw() -> None:
        conn = RawConnection(port)
        try:
            while not queue.empty() and time.perf_counter() < deadline:
                event_id, body, signature = queue.get_nowait()
                headers = {"Content-Type": "application/json", "X-Signature": signature,
                           "X-MailParse-Event-Id": event_id}
                started = time.perf_counter()
                try:
                    status = str(await conn.post("/webhooks/mailparse", body, headers))
                except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                    status = type(exc).__name__
                    await conn.close()
                phase.record(status, time.perf_counter() - started, event_id)
        finally:
            await conn.close()

    async def worker_httpx() -> None:
        import httpx

        # One client (one keep-alive connection) per worker: a single shared httpx pool serialises on its lock and
        # measures itself rather than the server.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await _httpx_loop(client)

    async def _httpx_loop(client) -> None:
        while not queue.empty() and time.perf_counter() < deadline:
            event_id, body, signature = queue.get_nowait()
            headers = {"Content-Type": "application/json", "X-Signature": signature, "X-MailParse-Event-Id": event_id}
            started = time.perf_counter()
            try:
                status = str((await client.post("/webhooks/mailparse", content=body, headers=headers)).status_code)
            except Exception as exc:  # noqa: BLE001 - counted, not fatal
                status = type(exc).__name__
            phase.record(status, time.perf_counter() - started, event_id)

    started = time.perf_counter()
    if client_kind == "httpx":
        await asyncio.gather(*(worker_httpx() for _ in range(concurrency)))
    else:
        await asyncio.gather(*(worker_raw() for _ in range(concurrency)))
    phase.elapsed = time.perf_counter() - started
    return phase


def stored_event_ids(store_url: str, run_id: str) -> set[str]:
    import sqlalchemy as sa

    from lead_pipeline.stores import schema
    from lead_pipeline.stores.operational import OperationalStore

    store = OperationalStore(store_url)
    t = schema.landing
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.c.delivery_key).where(t.c.source == "webhook", t.c.delivery_key.like(f"evt_{run_id}_%"))
            )
            return set(rows.scalars())
    finally:
        store.dispose()


def postgres_schema(url: str) -> tuple[str, str]:
    """A fresh schema on the PostgreSQL of `url`; returns (url using it, schema name)."""
    import sqlalchemy as sa

    name = f"bench_webhook_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    admin.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{name}", name


def drop_schema(url: str, name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--store-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per phase at most")
    parser.add_argument("--quick", action="store_true", help="1,000 deliveries")
    parser.add_argument("--serve", choices=["baseline", "receiver"], help=argparse.SUPPRESS)
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.fd, args.store_url)
        return 0

    n = 1000 if args.quick else max(1, min(args.deliveries, 100_000))
    run_id = uuid.uuid4().hex[:8]
    tmp = tempfile.TemporaryDirectory(prefix="bench-webhook-")
    pg_schema = None
    if args.store_url and args.store_url.startswith("postgresql"):
        store_url, pg_schema = postgres_schema(args.store_url)
    else:
        store_url = args.store_url or f"sqlite:///{Path(tmp.name) / 'store.sqlite'}"
    print(f"webhook benchmark: {n} deliveries, {args.concurrency} concurrent connections, client={args.client}, "
          f"{os.cpu_count()} CPUs, store={store_url.split('?')[0].split('://')[0]}")
    work = deliveries(n, run_id)
    print(f"payload {statistics.fmean(len(b) for _, b, _ in work):.0f} bytes on average")

    results: dict[str, Phase] = {}
    try:
        for kind in ("baseline", "receiver"):
            server = start_server(kind, store_url if kind == "receiver" else None)
            try:
                warmup = deliveries(min(200, n), run_id + "w")
                asyncio.run(run_load("warmup", server.port, warmup, args.concurrency, args.client, args.time_limit))
                results[kind] = asyncio.run(
                    run_load(kind, server.port, work, args.concurrency, args.client, args.time_limit))
            finally:
                server.stop()
            print(results[kind].summary())

        receiver = results["receiver"]
        stored = stored_event_ids(store_url, run_id)
        missing = [e for e in receiver.acknowledged if e not in stored]
        ratio = receiver.rate / results["baseline"].rate if results["baseline"].rate else float("nan")
        print(f"durability: {len(receiver.acknowledged)} acknowledged (202), {len(stored)} stored, "
              f"{len(missing)} acknowledged but missing")
        print(f"receiver/baseline throughput: {ratio:.2f}   "
              f"target >= 1000/s with p99 < 50 ms: {'met' if receiver.rate >= 1000 and receiver.p99_ms() < 50 else 'NOT met'}")
        return 1 if missing else 0
    finally:
        if pg_schema:
            drop_schema(args.store_url, pg_schema)
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
