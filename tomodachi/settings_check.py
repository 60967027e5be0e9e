"""Settings a user made that nothing would honour: warned about once (where upstream tolerated them) with the
closest valid name, so a typo or a misplaced option never passes silently."""

from __future__ import annotations

import difflib
import inspect
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any


class SettingWarning(UserWarning):
    """A setting was ignored or adjusted: upstream tolerated it, so it is not an error."""


_warned: set[str] = set()


def warn_once(key: str, message: str, *, stacklevel: int = 3) -> None:
    """Warn with ``message`` the first time ``key`` is seen in this process; ``stacklevel`` counts from here
    (3: the caller's caller), so the warning points at the user's code where there is one."""
    if key in _warned:
        return
    _warned.add(key)
    warnings.warn(message, SettingWarning, stacklevel=stacklevel)


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _own_envelope_parsers() -> dict[Any, tuple[str, ...]]:
    """parse_message functions of the built-in envelopes and the parser options each really takes."""
    from tomodachi.envelope.json_base import JsonBase

    known: dict[Any, tuple[str, ...]] = {JsonBase.__dict__["parse_message"].__func__: ()}
    try:
        from tomodachi.envelope.protobuf_base import ProtobufBase
    except ImportError:  # protobuf is an extra
        return known
    known[ProtobufBase.__dict__["parse_message"].__func__] = ("proto_class", "validator")
    return known


def ignored_parser_kwargs(envelope: Any, parser_kwargs: Mapping[str, Any]) -> list[str]:
    """The decorator's extra keyword arguments the envelope's ``parse_message`` would silently drop.

    Only provable for the built-in envelopes' own parsers; a custom parser taking ``**kwargs`` may use anything."""
    if envelope is None or not parser_kwargs:
        return []
    parse = getattr(envelope, "parse_message", None)
    function = getattr(parse, "__func__", parse)
    options = _own_envelope_parsers().get(function)
    if options is None or not callable(function):
        return []
    try:
        named = set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return []
    return [name for name in parser_kwargs if name not in options and name not in named]


def warn_ignored_parser_kwargs(
    decorator: Callable[..., Any], where: str, envelope: Any, parser_kwargs: Mapping[str, Any]
) -> None:
    """Warn once per handler and name about extra arguments of ``decorator`` nothing reads; the decorator's own
    parameter names are offered as corrections."""
    if not parser_kwargs:
        return
    parameters = inspect.signature(decorator).parameters.values()
    candidates = [p.name for p in parameters if p.kind is not p.VAR_KEYWORD]
    name_of_decorator = decorator.__name__
    envelope_name = getattr(envelope, "__name__", type(envelope).__name__)
    for name in ignored_parser_kwargs(envelope, parser_kwargs):
        warn_once(
            f"{where}:{name}",
            f"@{name_of_decorator} on {where}: {name}={parser_kwargs[name]!r} is not an option of "
            f"@{name_of_decorator} nor of the "
            f"{envelope_name} envelope's parser, so it is ignored{did_you_mean(name, candidates)}",
        )


OPTION_SECTIONS = ("http", "aws_sns_sqs", "aws_endpoint_urls", "amqp", "watcher")


def config_errors(config: Mapping[str, Any]) -> list[str]:
    """What is wrong with a ``-c`` configuration: an options section given at the top level (it belongs under
    ``"options"``) or an unknown or badly typed option."""
    errors = [
        f'config key {key!r} is an options section: put it under "options" ({{"options": {{"{key}": …}}}})'
        for key in config
        if key in OPTION_SECTIONS
    ]
    # other top-level keys set attributes on the services (as upstream); one that is nearly "options" is a typo
    for key in config:
        if key not in ("options", "run", *OPTION_SECTIONS):
            hint = did_you_mean(key, ("options", "run"))
            if hint:
                errors.append(f"config key {key!r} would only set an attribute on the services{hint}")
    options = config.get("options")
    if options is not None:
        import tomodachi

        try:
            tomodachi.Options().merged(options)
        except (TypeError, ValueError) as exc:  # UnknownOptionError and invalid values are ValueErrors
            errors.append(f"config: {exc}")
    return errors
