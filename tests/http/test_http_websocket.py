"""Websockets: receive gets text and binary frames, close always runs, errors close the socket."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

import tomodachi


class Chat:
    name = "chat"

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.closed = asyncio.Event()
        self.close_count = 0
        self.opened = asyncio.Event()

    @tomodachi.websocket(r"/ws/(?P<room>[a-z]+)")
    async def room(self, websocket: web.WebSocketResponse, request: web.Request, room: str) -> Any:
        self.opened.set()

        async def receive(data: str | bytes) -> None:
            self.received.append(data)
            if data == "fail":
                raise ValueError("receive failed")
            await websocket.send_str(f"{room}: {data!r}")

        async def close() -> None:
            self.close_count += 1
            self.closed.set()

        return receive, close

    @tomodachi.ws(r"/only-receive")
    async def only_receive(self, ws: web.WebSocketResponse) -> Any:
        async def receive(data: str) -> None:
            await ws.send_str(data.upper())

        return (receive,)

    @tomodachi.websocket(r"/broken")
    async def broken(self) -> Any:
        raise RuntimeError("connect failed")


async def test_text_and_binary_frames_reach_receive(serve: Any) -> None:
    service = Chat()
    async with serve(service) as served:
        async with served.client.ws_connect("/ws/lobby") as ws:
            await ws.send_str("hi")
            assert (await ws.receive(timeout=5)).data == "lobby: 'hi'"
            await ws.send_bytes(b"\x00\x01")
            assert (await ws.receive(timeout=5)).data == "lobby: b'\\x00\\x01'"
            await ws.send_str("fail")  # a failing receive is logged and reported; the socket stays open
            await ws.send_str("still open")
            assert (await ws.receive(timeout=5)).data == "lobby: 'still open'"
        await asyncio.wait_for(service.closed.wait(), 5)
        assert service.received == ["hi", b"\x00\x01", "fail", "still open"]
        assert service.close_count == 1
        assert [(where, str(exc)) for where, exc in served.errors] == [("chat.room", "receive failed")]


async def test_tuple_with_only_receive(serve: Any) -> None:
    async with serve(Chat) as served:
        async with served.client.ws_connect("/only-receive") as ws:
            await ws.send_str("shout")
            assert (await ws.receive(timeout=5)).data == "SHOUT"


async def test_close_runs_on_abrupt_client_disconnect(serve: Any) -> None:
    service = Chat()
    async with serve(service) as served:
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(f"{served.url}/ws/abrupt")
        await asyncio.wait_for(service.opened.wait(), 5)
        connection = ws._response.connection
        assert connection is not None and connection.transport is not None
        connection.transport.abort()  # no close frame, just a dropped TCP connection
        await asyncio.wait_for(service.closed.wait(), 5)
        await session.close()
        assert service.close_count == 1


async def test_shutdown_sends_a_close_frame_and_runs_close(serve: Any) -> None:
    service = Chat()
    async with serve(service) as served:
        ws = await served.client.ws_connect("/ws/shutdown")
        await asyncio.wait_for(service.opened.wait(), 5)
        stopping = asyncio.ensure_future(served.transport.stop(5))
        message = await ws.receive(timeout=5)
        assert message.type is WSMsgType.CLOSE
        assert message.data == WSCloseCode.GOING_AWAY
        await ws.close()
        await asyncio.wait_for(stopping, 5)
        assert service.close_count == 1


async def test_connect_handler_error_closes_the_socket(serve: Any) -> None:
    async with serve(Chat) as served:
        async with served.client.ws_connect("/broken") as ws:
            message = await ws.receive(timeout=5)
            assert message.type is WSMsgType.CLOSE
            assert message.data == WSCloseCode.INTERNAL_ERROR
        assert [where for where, _ in served.errors] == ["chat.broken"]


async def test_plain_get_on_a_websocket_route_is_400(serve: Any) -> None:
    async with serve(Chat) as served:
        async with served.client.get("/ws/lobby") as response:
            assert response.status == 400


async def test_middleware_wraps_the_connect_handler(serve: Any) -> None:
    seen: list[str] = []

    async def middleware(func: Any, service: Any, request: Any) -> Any:
        seen.append(request.path)
        return await func()

    service = Chat()
    service.http_middleware = [middleware]  # type: ignore[attr-defined]
    async with serve(service) as served:
        async with served.client.ws_connect("/ws/mw") as ws:
            await ws.send_str("x")
            await ws.receive(timeout=5)
    assert seen == ["/ws/mw"]


async def test_a_websocket_message_over_the_limit_closes_the_socket_with_1009(serve: Any) -> None:
    service = Chat()
    async with serve(service, websocket_max_message_size=1024) as served:
        async with served.client.ws_connect("/ws/lobby") as ws:
            await ws.send_str("x" * 1024)  # at the limit: taken
            assert (await ws.receive(timeout=5)).type is WSMsgType.TEXT
            await ws.send_str("x" * 1025)
            closing = await ws.receive(timeout=5)
            assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
            assert ws.close_code == WSCloseCode.MESSAGE_TOO_BIG
    assert service.received == ["x" * 1024]


def test_websocket_messages_are_limited_to_4_mib_by_default_and_pinged_every_30_s() -> None:
    from tomodachi.transport.http.settings import HttpSettings

    settings = HttpSettings.from_options(tomodachi.Options())
    assert (settings.websocket_max_message_size, settings.websocket_heartbeat) == (4 * 1024 * 1024, 30.0)
    quiet = HttpSettings.from_options(tomodachi.Options(http={"websocket_heartbeat": None}))
    assert quiet.websocket_heartbeat is None


async def test_a_peer_that_does_not_answer_pings_is_disconnected(serve: Any) -> None:
    service = Chat()
    async with serve(service, websocket_heartbeat=0.2) as served:
        async with served.client.ws_connect("/ws/lobby", autoping=False) as ws:
            while True:  # the server pings; this client never answers, so the server closes
                message = await ws.receive(timeout=5)
                if message.type is not WSMsgType.PING:
                    break
            assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        await asyncio.wait_for(service.closed.wait(), timeout=5)
