"""examples/middleware_auth_service.py: bearer-token middleware, role decorator (401/403), message middleware."""

from __future__ import annotations

from typing import Any

ADMIN = {"Authorization": "Bearer admin-token"}
READER = {"Authorization": "Bearer reader-token"}


async def test_token_and_role_checks(tomodachi_service: Any, load_example: Any) -> None:
    svc = await tomodachi_service(load_example("middleware_auth_service.py").AuthService)
    async with svc.http.get("/me") as response:
        assert (response.status, await response.text()) == (401, "missing or unknown bearer token")
    async with svc.http.get("/me", headers={"Authorization": "Bearer forged"}) as response:
        assert response.status == 401
    async with svc.http.get("/me", headers={"Authorization": "Basic reader-token"}) as response:
        assert response.status == 401
    async with svc.http.get("/me", headers=READER) as response:
        assert (response.status, await response.json()) == (200, {"user": "rita", "roles": ["reader"]})
    async with svc.http.post("/users/bob", headers=READER) as response:
        assert (response.status, await response.text()) == (403, "rita lacks the 'admin' role")


async def test_admin_creates_a_user_and_the_event_is_audited(
    tomodachi_service: Any, fake_amqp: Any, load_example: Any
) -> None:
    svc = await tomodachi_service(load_example("middleware_auth_service.py").AuthService)
    async with svc.http.post("/users/bob", headers=ADMIN) as response:
        assert (response.status, await response.text()) == (201, "created bob")
    await fake_amqp.settle()
    # the message middleware took the sender from the envelope and passed it to the handler
    assert svc.instance.audit == ["user.created bob by ada via example-middleware-auth"]
    assert [p.routing_key for p in fake_amqp.published()] == ["user.created"]


async def test_rejected_requests_publish_nothing(tomodachi_service: Any, fake_amqp: Any, load_example: Any) -> None:
    svc = await tomodachi_service(load_example("middleware_auth_service.py").AuthService)
    async with svc.http.post("/users/eve") as response:
        assert response.status == 401
    await fake_amqp.settle()
    assert fake_amqp.published() == [] and svc.instance.audit == []
