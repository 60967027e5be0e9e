"""Start-time check that every required handler parameter has something to be injected from, so a misnamed
parameter is reported once when the service starts instead of on every call."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tomodachi.handlers import handler_parameters
from tomodachi.runtime.transport import BoundHandler, TransportContext

__all__ = [
    "HandlerSignatureError",
    "HandlerSignatureWarning",
    "SignatureFinding",
    "http_findings",
    "message_findings",
    "report_findings",
    "schedule_findings",
]


class HandlerSignatureError(TypeError):
    """A handler parameter can never be filled and every call would fail: the service does not start."""


class HandlerSignatureWarning(UserWarning):
    """A handler parameter can never be filled but the call still happens (it receives ``None``, as upstream
    tomodachi does): logged at start and passed to the environment's error reporter."""


@dataclass(frozen=True)
class SignatureFinding:
    """One parameter of one handler that no injection source can ever fill."""

    handler: BoundHandler
    parameter: str
    fatal: bool  # True: every call fails anyway (upstream too), so the service must not start
    sources: str  # what the transport can inject, for the message
    candidates: tuple[str, ...]  # injectable names, for the "did you mean" suggestion
    consequence: str


# what server.py / websocket.py hand to ``call_arguments`` per handler kind: the names injected by name, and the
# names of the values that fill the remaining required parameters in order (unless a parameter took them by name)
_HTTP_INJECTED: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "http": (("request",), ("request",)),
    "http_error": (("request", "status_code"), ("request",)),
    "websocket": (("request", "websocket"), ("websocket", "request")),
}
# the dict keys JsonBase and ProtobufBase parse a message into
_ENVELOPE_KEYS: tuple[str, ...] = ("data", "metadata", "service")
_MESSAGE_VALUES: tuple[str, ...] = ("message", "message_uuid")


def _parameters(handler: BoundHandler) -> tuple[inspect.Parameter, ...] | None:
    """The handler's parameters, or None when nothing can be said about them."""
    try:
        params = handler_parameters(handler.func)
    except (TypeError, ValueError):  # no introspectable signature (some builtins / C callables)
        return None
    # ``*args`` / ``**kwargs`` usually mark a pass-through wrapper whose real needs are not visible here
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return None
    return params


def _required(param: inspect.Parameter) -> bool:
    # an unbound ``self`` is never reported: that would point at the decorator setup, not at a parameter name
    return param.default is param.empty and param.name != "self"


def http_findings(context: TransportContext) -> list[SignatureFinding]:
    """Parameters of ``@http`` / ``@http_error`` / ``@websocket`` handlers that injection can never fill.

    Mirrors ``transport.http.injection.call_arguments``: url groups and the kind's named values fill parameters
    by name, then the spare positional values (the request, for websockets also the socket) fill the remaining
    required ones in order. Middleware may forward any keyword to the handler, so a service with http middleware
    is not checked. Upstream fails every call on such a parameter (IndexError / TypeError), hence fatal.
    """
    from tomodachi.transport.http.invoke import service_middlewares
    from tomodachi.transport.http.routing import compile_pattern

    if service_middlewares(context.service):
        return []
    findings: list[SignatureFinding] = []
    for handler in context.handlers:
        injected = _HTTP_INJECTED.get(handler.spec.kind)
        params = _parameters(handler)
        if injected is None or params is None:
            continue  # http_static handlers are never called
        named, positional = injected
        url = handler.spec.args.get("url")
        groups = tuple(compile_pattern(url, handler.name).groupindex) if isinstance(url, str) else ()
        consumed = {p.name for p in params if p.name in named and p.name not in groups}
        spare = [value for value in positional if value not in consumed]
        sources = f"route groups: {', '.join(groups) or 'none'}; injected: {', '.join(named)}"
        for param in params:
            if param.name in groups or param.name in named or param.default is not param.empty:
                continue
            if spare:
                spare.pop(0)
                continue
            if _required(param):
                consequence = "every call would fail"
                findings.append(SignatureFinding(handler, param.name, True, sources, (*groups, *named), consequence))
    return findings


def schedule_findings(handlers: Iterable[BoundHandler], injectable: Sequence[str]) -> list[SignatureFinding]:
    """Required parameters of scheduled functions other than the ``injectable`` keywords.

    The schedule transport passes ``injectable`` names by keyword only, so a positional-only one is never
    filled either. Upstream fails every run on such a parameter (IndexError / TypeError), hence fatal.
    """
    findings: list[SignatureFinding] = []
    sources = f"injected: {', '.join(injectable)}"
    for handler in handlers:
        for param in _parameters(handler) or ():
            if param.name in injectable and param.kind is not param.POSITIONAL_ONLY:
                continue
            if _required(param):
                consequence = "every run would fail"
                findings.append(SignatureFinding(handler, param.name, True, sources, tuple(injectable), consequence))
    return findings


def _envelope_keys(envelope: Any) -> tuple[str, ...] | None:
    """Keys of the parsed message the pipeline injects; None when a custom envelope makes them unknowable."""
    if envelope is None:
        return ()
    from tomodachi.envelope import JsonBase, ProtobufBase

    parse = getattr(getattr(envelope, "parse_message", None), "__func__", None)
    known = {getattr(base.parse_message, "__func__", None) for base in (JsonBase, ProtobufBase)}
    return _ENVELOPE_KEYS if parse is not None and parse in known else None


def message_findings(
    handler: BoundHandler,
    service: Any,
    *,
    envelope: Any,
    values: Collection[str],
    pre_middleware_attribute: str,
) -> list[SignatureFinding]:
    """Parameters of one ``@amqp`` / ``@aws_sns_sqs`` handler that the message pipeline can never fill.

    Mirrors ``MessagePipeline._call_handler``: envelope keys, ``message``, ``message_uuid``, the transport's
    ``values`` and the decorator's ``callback_kwargs`` fill parameters by name; without an envelope the first
    parameter gets the body. Custom envelopes and message middleware may supply any name: not checked.
    Upstream passes ``None`` to an unknown positional parameter (warning) but fails every message with a
    TypeError on an unknown keyword-only one (fatal).
    """
    # a pre-middleware marked ``passes_values_through`` (instrumentation) supplies no name: the check still applies
    pre = [
        m for m in getattr(service, pre_middleware_attribute, None) or () if not getattr(m, "passes_values_through", 0)
    ]
    middlewares = pre or getattr(service, "message_middleware", None)
    params = _parameters(handler)
    keys = _envelope_keys(envelope)
    if middlewares or params is None or keys is None:
        return []
    if envelope is None:
        params = params[1:]  # raw mode: the first parameter receives the body whatever its name
    callback_kwargs = tuple(handler.spec.args.get("callback_kwargs") or ())
    candidates = (*keys, *_MESSAGE_VALUES, *values, *callback_kwargs)
    sources = "; ".join(
        part
        for part in (
            f"envelope keys: {', '.join(keys)}" if keys else "",
            f"injected: {', '.join((*_MESSAGE_VALUES, *values))}",
            f"callback_kwargs: {', '.join(callback_kwargs)}" if callback_kwargs else "",
        )
        if part
    )
    findings: list[SignatureFinding] = []
    for param in params:
        if param.name in candidates or not _required(param):
            continue
        fatal = param.kind is param.KEYWORD_ONLY
        consequence = (
            "it is keyword-only, so every message would fail" if fatal else "it receives None for every message"
        )
        findings.append(SignatureFinding(handler, param.name, fatal, sources, candidates, consequence))
    return findings


def _decorator(handler: BoundHandler) -> str:
    """The decorator as the user wrote it (roughly), to point at the right line."""
    args = handler.spec.args
    kind = handler.spec.kind
    if kind == "http":
        methods = tuple(args.get("methods", ("GET",)))
        method = repr(methods[0]) if len(methods) == 1 else repr(list(methods))
        return f"@tomodachi.http({method}, {args.get('url')!r})"
    if kind == "http_error":
        return f"@tomodachi.http_error({args.get('status_code')!r})"
    if kind == "websocket":
        return f"@tomodachi.websocket({args.get('url')!r})"
    if kind == "schedule":
        given = ", ".join(f"{key}={args[key]!r}" for key in ("interval", "timestamp", "timezone") if args.get(key))
        return f"@tomodachi.schedule({given})"
    if kind == "amqp":
        return f"@tomodachi.amqp({args.get('routing_key')!r})"
    if kind == "aws_sns_sqs":
        target = repr(args["topic"]) if args.get("topic") else f"queue_name={args.get('queue_name')!r}"
        return f"@tomodachi.aws_sns_sqs({target})"
    return f"@tomodachi.{kind}"


def _suggestion(name: str, candidates: Sequence[str]) -> str:
    unique = list(dict.fromkeys(candidates))
    found = difflib.get_close_matches(name, unique, n=1)
    if not found:
        # ``item_id`` for a group ``id``: a shared word says more than the overall similarity
        words = set(name.split("_"))
        found = [c for c in unique if c in words or name in c.split("_")][:1]
    if found:
        return f"Did you mean {found[0]!r}?"
    return "Rename it to an injected name or give it a default value."


def _message(finding: SignatureFinding, service: Any) -> str:
    handler = finding.handler
    class_name = type(service).__name__
    service_name = getattr(service, "name", None)
    owner = f"{class_name}.{handler.name}"
    if service_name and service_name not in (class_name, "service"):
        owner += f" (service {service_name!r})"
    return (
        f"{owner}: parameter {finding.parameter!r} of {_decorator(handler)} can never be filled "
        f"({finding.sources}); {finding.consequence}. {_suggestion(finding.parameter, finding.candidates)}"
    )


def report_findings(context: TransportContext, findings: Iterable[SignatureFinding]) -> None:
    """Warn about (log + ``environment.report_error``) the non-fatal findings, then raise one
    HandlerSignatureError listing every fatal one."""
    from tomodachi.logging import framework_logger

    service = context.service
    where_service = str(getattr(service, "name", None) or type(service).__name__)
    fatal: list[str] = []
    for finding in findings:
        message = _message(finding, service)
        if finding.fatal:
            fatal.append(message)
            continue
        # the log line is what users see in production, where the error reporter does nothing
        framework_logger("tomodachi.handlers").warning(message, handler=finding.handler.name, service=where_service)
        context.environment.report_error(HandlerSignatureWarning(message), f"{where_service}.{finding.handler.name}")
    if fatal:
        raise HandlerSignatureError("\n".join(fatal))
