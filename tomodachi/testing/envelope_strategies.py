"""Hypothesis strategies for JsonBase envelopes: valid messages as ``JsonBase.build_message`` lays them out
(compressed ones included) and malformed ones the parser must refuse."""

from __future__ import annotations

import base64
import functools
import json
import zlib
from typing import Any

from hypothesis import strategies as st

from tomodachi.envelope.json_base import (
    COMPATIBLE_PROTOCOL_VERSIONS,
    COMPRESSED,
    COMPRESSION_THRESHOLD,
    PROTOCOL_VERSION,
    RAW,
)

__all__ = ["json_envelopes", "json_values", "malformed_json_envelopes"]


# ---- JsonBase envelopes ---------------------------------------------------------------------------------------


def json_values() -> st.SearchStrategy[Any]:
    """JSON data that survives ``json.dumps`` and ``json.loads`` unchanged (no NaN or infinities)."""
    return _json_values()


@functools.cache
def _json_values() -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    )
    return st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=12,
    )


@functools.cache
def _large_json_values() -> st.SearchStrategy[Any]:
    # built by repetition: JsonBase compresses only from 60000 characters of JSON, far more than hypothesis draws
    return st.builds(
        lambda chunk, key: {key: chunk * (COMPRESSION_THRESHOLD // len(chunk) + 1)},
        st.text(min_size=1, max_size=16),
        st.text(max_size=8),
    )


@st.composite
def _envelopes(draw: st.DrawFn, data: st.SearchStrategy[Any]) -> str:
    value = draw(data)
    service_uuid = draw(st.none() | st.uuids().map(str))
    data_json = json.dumps(value)
    payload: Any = value
    encoding = RAW
    if len(data_json) >= COMPRESSION_THRESHOLD:  # the rule of JsonBase.build_message
        payload = base64.b64encode(zlib.compress(data_json.encode("utf-8"))).decode("utf-8")
        encoding = COMPRESSED
    message = {
        "service": {"name": draw(st.none() | st.text(max_size=20)), "uuid": service_uuid},
        "metadata": {
            "message_uuid": f"{service_uuid if service_uuid is not None else ''}.{draw(st.uuids())}",
            "protocol_version": PROTOCOL_VERSION,
            "compatible_protocol_versions": list(COMPATIBLE_PROTOCOL_VERSIONS),
            "timestamp": draw(st.floats(0, 4_102_444_800)),  # time.time() values up to 2100
            "topic": draw(st.text(max_size=30)),
            "data_encoding": encoding,
        },
        "data": payload,
    }
    return json.dumps(message)


def json_envelopes(data: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[str]:
    """Message strings as ``JsonBase.build_message`` writes them, wrapping values drawn from ``data``.

    ``data`` defaults to small JSON values and, now and then, data of 60000+ JSON characters, which travels
    compressed (``data_encoding: base64_gzip_json``). Service name and uuid, topic, message uuid and timestamp
    vary. ``JsonBase.parse_message`` gives back the drawn value as ``message["data"]``.
    """
    return _envelopes(data if data is not None else st.one_of(_json_values(), _large_json_values()))


@functools.cache
def _small_envelopes() -> st.SearchStrategy[str]:
    return json_envelopes(_json_values())


def _envelope_object(draw: st.DrawFn) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(draw(_small_envelopes()))
    return message


@st.composite
def _without_metadata(draw: st.DrawFn) -> str:
    message = _envelope_object(draw)
    if draw(st.booleans()):
        del message["metadata"]
    else:  # metadata that is not an object holds no data_encoding either
        message["metadata"] = draw(st.one_of(st.none(), st.just({}), st.text(), st.integers(), st.lists(st.integers())))
    return json.dumps(message)


@st.composite
def _unknown_data_encoding(draw: st.DrawFn) -> str:
    message = _envelope_object(draw)
    if draw(st.booleans()):
        del message["metadata"]["data_encoding"]
    else:
        encodings = st.one_of(st.text(max_size=20), st.none(), st.integers(), st.lists(st.text(), max_size=2))
        message["metadata"]["data_encoding"] = draw(encodings.filter(lambda e: e not in (RAW, COMPRESSED)))
    return json.dumps(message)


@st.composite
def _broken_compressed_data(draw: st.DrawFn) -> str:
    message = _envelope_object(draw)
    message["metadata"]["data_encoding"] = COMPRESSED
    text = json.dumps(draw(st.dictionaries(st.text(max_size=8), _json_values(), min_size=1, max_size=3)))
    kind = draw(st.sampled_from(("truncated", "not zlib", "not json", "not utf-8")))
    if kind == "truncated":  # cut through the base64 padding or through the zlib stream, whose checksum ends it
        encoded = base64.b64encode(zlib.compress(text.encode("utf-8"))).decode("ascii")
        message["data"] = encoded[: draw(st.integers(0, len(encoded) - 1))]
    elif kind == "not zlib":  # base64 of plain JSON: "{" is no zlib header
        message["data"] = base64.b64encode(text.encode("utf-8")).decode("ascii")
    elif kind == "not json":
        garbage = "<" + draw(st.text(st.characters(codec="utf-8"), max_size=20))
        message["data"] = base64.b64encode(zlib.compress(garbage.encode("utf-8"))).decode("ascii")
    else:  # 0xff starts no UTF-8 sequence
        message["data"] = base64.b64encode(zlib.compress(b"\xff" + draw(st.binary(max_size=10)))).decode("ascii")
    return json.dumps(message)


def malformed_json_envelopes() -> st.SearchStrategy[str]:
    """Payloads ``JsonBase.parse_message`` refuses (raises on), as a broken or foreign publisher may send them.

    Not JSON (garbage, or a valid envelope cut short), JSON that is not an object, an envelope without
    (object) metadata, with a missing or unknown ``data_encoding``, or with ``base64_gzip_json`` data that is
    truncated, not zlib, or not UTF-8 JSON once decompressed. A foreign ``protocol_version`` is not among them:
    JsonBase, like upstream tomodachi, does not check it.
    """
    garbage = st.builds(lambda head, tail: head + tail, st.sampled_from("<#'x};"), st.text(max_size=40))
    cut_short = _small_envelopes().flatmap(lambda text: st.integers(0, len(text) - 1).map(lambda n: text[:n]))
    not_object = _json_values().filter(lambda value: not isinstance(value, dict)).map(json.dumps)
    return st.one_of(
        garbage, cut_short, not_object, _without_metadata(), _unknown_data_encoding(), _broken_compressed_data()
    )
