"""Hot-path benchmark cases: AMQP end-to-end, AMQP consumer-only and HTTP under wrk, contenders interleaved."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hot_harness import (
    READY_TIMEOUT,
    Contender,
    Proc,
    Rabbit,
    clean_env,
    free_port,
    http_cpus,
    log,
    read_json,
    wait_http_ready,
    wait_until,
    wrk,
)
from hot_report import CaseResult, Outcome

QUEUE_ARGUMENTS = {"x-expires": 86400 * 1000}  # what both builds declare (amqp.queue_ttl 86400 s)
BODY = b"x" * 99
KEEPALIVE_SECONDS = "60"

T = TypeVar("T")


@dataclass(frozen=True)
class AmqpCase:
    key: str
    label: str  # "{n}" is replaced by the message count
    group: str  # "amqp": publisher service → consumer service; "consume": pre-filled queue → consumer only
    envelope: str = "raw"  # "raw" (no envelope) or "json" (JsonBase)
    concurrent: bool = False  # publishers coroutines in the publisher service, else one sequential loop
    confirms_off: bool = False  # ours gets amqp.publisher_confirms=False (upstream has no such option)
    raw: bool = True  # run the raw aioamqp contender
    target_upstream: float | None = None
    target_raw: float | None = None
    note: str = ""


@dataclass(frozen=True)
class HttpCase:
    key: str
    label: str
    path: str
    loop: str = "asyncio"
    keepalive: bool = True
    access_log: bool | None = False  # None: the framework's default (on), and keep-alive left at its default (off)
    target_upstream: float | None = None
    target_raw: float | None = None

    @property
    def script(self) -> str | None:
        return "echo.lua" if self.path == "/echo" else None


AMQP_NOTE = "end to end: first publish → consumer has handled all (wall clocks of the two processes)"
AMQP_CASES = [
    AmqpCase("amqp-seq", "AMQP {n} × 99 B, 1 sequential publisher → consumer, raw body", "amqp", target_upstream=1.0),
    AmqpCase(
        "amqp-concurrent",
        "AMQP {n} × 99 B, {p} concurrent publishers → consumer, raw body",
        "amqp",
        concurrent=True,
        target_upstream=2.0,
    ),
    AmqpCase("amqp-json", "AMQP {n}, JsonBase envelope, sequential", "amqp", envelope="json", raw=False),
    AmqpCase(
        "amqp-confirms-off",
        "AMQP {n}, ours with publisher_confirms: False, sequential",
        "amqp",
        confirms_off=True,
        raw=False,
        target_upstream=2.0,
        note="upstream has no publisher confirms at all; its column is its ordinary sequential run",
    ),
    AmqpCase(
        "amqp-consume",
        "AMQP consumer only: {n} pre-filled messages",
        "consume",
        target_upstream=2.0,
        target_raw=0.7,
        note="first → last message handled by the consumer (its start-up excluded; spawn → done in the JSON)",
    ),
]

HTTP_CASES = [
    *(
        HttpCase(
            f"http-{name}-keepalive{'-uvloop' if loop == 'uvloop' else ''}",
            f"HTTP {method} {path}, keep-alive, no access log, {loop}",
            path,
            loop=loop,
            target_upstream=1.3,
            target_raw=0.5,
        )
        for name, method, path in (("hello", "GET", "/hello"), ("json", "GET", "/json"), ("echo", "POST", "/echo"))
        for loop in ("asyncio", "uvloop")
    ),
    HttpCase("http-hello-close", "HTTP GET /hello, no keep-alive, no access log", "/hello", keepalive=False),
    HttpCase(
        "http-hello-defaults",
        "HTTP GET /hello, defaults (access log on, no keep-alive)",
        "/hello",
        keepalive=False,
        access_log=None,
        target_upstream=1.5,
    ),
]


@dataclass
class Settings:
    workdir: Path
    rabbit: Rabbit
    amqp_env: dict[str, str]
    queue: str
    routing_key: str
    messages: int
    publishers: int
    repeat: int
    duration: int
    warmup: int
    connections: int
    threads: int
    pin: bool = True


def rotated(items: list[T], turn: int) -> list[T]:
    """Each repeat starts with the next contender, so no one always runs first (or right after another)."""
    shift = turn % len(items) if items else 0
    return items[shift:] + items[:shift]


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def json_file(path: Path) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    async def check() -> dict[str, Any] | None:
        return read_json(path)

    return check


async def run_interleaved(
    result: CaseResult,
    contenders: list[Contender],
    repeat: int,
    once: Callable[[Contender], Awaitable[dict[str, Any]]],
) -> CaseResult:
    """``repeat`` rounds of one ``once`` per contender; a contender's first error ends its part of the case."""
    for contender in contenders:
        result.outcomes[contender.name] = Outcome()
    for turn in range(repeat):
        for contender in rotated(contenders, turn):
            outcome = result.outcomes[contender.name]
            if outcome.error is not None:
                continue
            try:
                found = await once(contender)
            except Exception as exc:
                outcome.error = error_text(exc)
                log(f"  {contender.name:8} ERROR {outcome.error}")
                continue
            outcome.samples.append(found["rate"])
            outcome.details.append(found)
            log(f"  {contender.name:8} {found['rate']:>10,.0f} {result.unit}")
    return result


# -- AMQP --------------------------------------------------------------------------------------------------------


def amqp_env(case: AmqpCase, contender: Contender, settings: Settings, done: Path, published: Path) -> dict[str, str]:
    env = clean_env(
        **settings.amqp_env,
        BENCH_QUEUE=settings.queue,
        BENCH_ROUTING_KEY=settings.routing_key,
        BENCH_COUNT=str(settings.messages),
        BENCH_PUBLISHERS=str(settings.publishers if case.concurrent else 1),
        BENCH_ENVELOPE=case.envelope,
        BENCH_DONE_FILE=str(done),
        BENCH_RESULT_FILE=str(published),
    )
    if case.confirms_off and contender.name == "ours":
        env["BENCH_CONFIRMS"] = "0"
    return env


def amqp_timeout(messages: int) -> float:
    """Bound of each wait of an AMQP run: generous (100 msg/s), but a stuck run ends."""
    return 30 + messages / 100


def amqp_command(contender: Contender, role: str) -> list[str]:
    if contender.is_raw:
        return contender.raw_command("raw_amqp.py", "consume" if role == "consumer" else "publish")
    return contender.tomodachi_command(f"amqp_{role}.py", "asyncio")


async def amqp_once(case: AmqpCase, contender: Contender, settings: Settings) -> dict[str, Any]:
    """Fresh queue, consumer started and consuming, then the publisher: first publish → all handled."""
    rabbit, queue, n = settings.rabbit, settings.queue, settings.messages
    done, published = settings.workdir / "done.json", settings.workdir / "published.json"
    for path in (done, published):
        path.unlink(missing_ok=True)
    env = amqp_env(case, contender, settings, done, published)
    consumer = Proc(f"{contender.name}-consumer", amqp_command(contender, "consumer"), env, settings.workdir)
    publisher = Proc(f"{contender.name}-publisher", amqp_command(contender, "publisher"), env, settings.workdir)
    timeout = amqp_timeout(n)
    await rabbit.delete(queue, queue + ".dlq")
    try:
        await consumer.start()

        async def consuming() -> bool:
            state = await rabbit.queue_state(queue)
            return state is not None and state[1] > 0

        await wait_until(f"{consumer.label} to consume {queue}", consuming, READY_TIMEOUT, (consumer,), poll=0.05)
        await publisher.start()
        sent = await wait_until("the publisher's result", json_file(published), timeout, (publisher, consumer))
        if "error" in sent:
            raise RuntimeError(f"publisher: {sent['error']}\n{publisher.log_tail()}")
        finished = await wait_until(f"{n} messages handled", json_file(done), timeout, (consumer,))
    finally:
        await publisher.stop()
        await consumer.stop()
        await rabbit.delete(queue, queue + ".dlq")
    for marker in (sent, finished):
        contender.check_source(marker.get("tomodachi", {}).get("file"))
    seconds = finished["last"] - sent["started"]
    return {
        "rate": n / seconds,
        "seconds": seconds,
        "publish_rate": n / max(sent["published"] - sent["started"], 1e-9),
    }


async def consume_once(case: AmqpCase, contender: Contender, settings: Settings) -> dict[str, Any]:
    """A queue pre-filled with ``messages``, then the consumer alone: first → last message handled."""
    rabbit, queue, n = settings.rabbit, settings.queue, settings.messages
    done = settings.workdir / "done.json"
    done.unlink(missing_ok=True)
    env = amqp_env(case, contender, settings, done, settings.workdir / "unused.json")
    consumer = Proc(f"{contender.name}-consumer", amqp_command(contender, "consumer"), env, settings.workdir)
    await rabbit.delete(queue, queue + ".dlq")
    try:
        await rabbit.prefill(queue, QUEUE_ARGUMENTS, n, BODY)
        await consumer.start()
        finished = await wait_until(f"{n} messages handled", json_file(done), amqp_timeout(n), (consumer,))
    finally:
        await consumer.stop()
        await rabbit.delete(queue, queue + ".dlq")
    contender.check_source(finished.get("tomodachi", {}).get("file"))
    seconds = finished["last"] - finished["first"]
    return {
        "rate": (n - 1) / max(seconds, 1e-9),
        "seconds": seconds,
        "spawn_to_done": finished["last"] - consumer.started_at,
    }


async def run_amqp_case(case: AmqpCase, contenders: list[Contender], settings: Settings) -> CaseResult:
    label = case.label.format(n=f"{settings.messages:,}", p=settings.publishers)
    result = CaseResult(case.key, label, "msg/s", case.target_upstream, case.target_raw, note=case.note)
    log(f"{case.key}: {label}")
    runners = [c for c in contenders if case.raw or not c.is_raw]
    once = amqp_once if case.group == "amqp" else consume_once

    async def run(contender: Contender) -> dict[str, Any]:
        return await once(case, contender, settings)

    return await run_interleaved(result, runners, settings.repeat, run)


# -- HTTP --------------------------------------------------------------------------------------------------------


def http_env(case: HttpCase, port: int) -> dict[str, str]:
    env = clean_env(BENCH_PORT=str(port), BENCH_LOOP=case.loop)
    if case.access_log is not None:  # else: both frameworks' defaults (and the raw app's: no keep-alive, log on)
        env["BENCH_KEEPALIVE"] = KEEPALIVE_SECONDS if case.keepalive else "0"
        env["BENCH_ACCESS_LOG"] = "1" if case.access_log else "0"
    return env


async def start_http(case: HttpCase, contender: Contender, settings: Settings) -> tuple[Proc, int]:
    """Starts the contender's server, checks which build answers, then one warm-up wrk run."""
    port = free_port()
    if contender.is_raw:
        command = contender.raw_command("raw_http.py")
    else:
        command = contender.tomodachi_command("http_service.py", case.loop)
    server_cpus = http_cpus()[0] if settings.pin else frozenset()
    proc = Proc(f"{contender.name}-http", command, http_env(case, port), settings.workdir, cpus=server_cpus)
    await proc.start()
    try:
        served = json.loads(await wait_http_ready(proc, port))
        contender.check_source(served.get("file"))
        if ("uvloop" in served["loop"]) != (case.loop == "uvloop"):
            raise RuntimeError(f"{proc.label} runs on a {served['loop']} loop, not {case.loop}")
        await http_wrk(case, port, settings, settings.warmup)
    except BaseException:
        await proc.stop()
        raise
    return proc, port


async def http_wrk(case: HttpCase, port: int, settings: Settings, seconds: int) -> dict[str, Any]:
    script = settings.workdir / case.script if case.script else None
    found = await wrk(
        f"http://127.0.0.1:{port}{case.path}",
        seconds=seconds,
        connections=settings.connections,
        threads=settings.threads,
        script=script,
        cpus=http_cpus()[1] if settings.pin else frozenset(),
    )
    if found["non_2xx"]:
        raise RuntimeError(f"{found['non_2xx']} non-2xx responses from {case.path}")
    if not found["requests"]:
        raise RuntimeError(f"no responses from {case.path}")
    return found


async def run_http_case(case: HttpCase, contenders: list[Contender], settings: Settings) -> CaseResult:
    """All contenders' servers up at once (idle ones cost nothing), then ``repeat`` interleaved wrk rounds."""
    result = CaseResult(case.key, case.label, "req/s", case.target_upstream, case.target_raw)
    log(f"{case.key}: {case.label}")
    servers: dict[str, tuple[Proc, int]] = {}
    failed: dict[str, str] = {}
    try:
        for contender in contenders:
            try:
                servers[contender.name] = await start_http(case, contender, settings)
            except Exception as exc:
                failed[contender.name] = error_text(exc)

        async def run(contender: Contender) -> dict[str, Any]:
            if contender.name in failed:
                raise RuntimeError(failed[contender.name])
            proc, port = servers[contender.name]
            proc.check_alive()
            return await http_wrk(case, port, settings, settings.duration)

        return await run_interleaved(result, contenders, settings.repeat, run)
    finally:
        for proc, _ in servers.values():
            await proc.stop()
