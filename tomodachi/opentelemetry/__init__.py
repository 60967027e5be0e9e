"""OpenTelemetry instrumentation of tomodachi services (the ``opentelemetry`` extra): ``TomodachiInstrumentor``, and
what ``tomodachi --opentelemetry-instrument run`` and the ``opentelemetry-instrument`` command load."""

from __future__ import annotations

EXTRA_HINT = "install the opentelemetry extra: pip install 'tomodachi[opentelemetry]'"

try:
    from tomodachi.opentelemetry.instrumentation import TomodachiInstrumentor
except ImportError as exc:  # the extra is missing: say which one, rather than naming a package of it
    if not (exc.name or "").startswith("opentelemetry"):
        raise
    raise ImportError(f"tomodachi.opentelemetry needs the OpenTelemetry packages ({exc}): {EXTRA_HINT}") from exc

__all__ = ["EXTRA_HINT", "TomodachiInstrumentor"]
