"""Which loaded modules a wall-clock freeze leaves alone: infrastructure packages and the standard library.

freezegun scans every loaded module it does not ignore for ``from time import time``-style references on each
freeze; skipping those that never read user-visible time through such a reference keeps a freeze cheap.
"""

from __future__ import annotations

import bisect
import sys

# packages whose own references to the time functions a freeze leaves alone: these (test runners, AWS and HTTP clients,
# the standard library's machinery) are most of a test process's modules while never reading user-visible time
# through such a reference. Reads through the `time` / `datetime` modules themselves are virtual everywhere.
INFRASTRUCTURE_PACKAGES = (
    "_pytest.",
    "pytest_asyncio.",
    "pluggy.",
    "hypothesis.",
    "botocore.",
    "boto3.",
    "s3transfer.",
    "aiobotocore.",
    "moto.",
    "werkzeug.",
    "requests.",
    "urllib3.",
    "aiohttp.",
    "yarl.",
    "multidict.",
    "pygments.",
    "yaml.",
    "attr.",
    "jmespath.",
    "charset_normalizer.",
    "importlib.",
    "email.",
    "xml.",
    "unittest.",
    "multiprocessing.",
    "asyncio.",
    "encodings.",
    "structlog.",
    "freezegun.",
    "croniter.",
    "aioamqp.",
    "dateutil.",
    "google.protobuf.",
    "cryptography.",
    "jinja2.",
    "collections.",
    "concurrent.",
    "json.",
    "logging.",
    "http.",
    "ctypes.",
    "tomodachi.",  # the framework times with its Clock; envelopes read `time.time()` through the module
)


_STANDARD_LIBRARY = frozenset(sys.stdlib_module_names)
_cached: tuple[int, tuple[str, ...]] = (-1, ())


def ignored_modules() -> tuple[str, ...]:
    """Prefixes of the module names a freeze skips (freezegun matches by prefix).

    Standard-library modules time with ``monotonic`` / ``perf_counter`` (real anyway) or read wall time through
    the ``time`` / ``datetime`` modules, which the freeze patches where they live. A top-level standard module is
    skipped by its exact name only when no other loaded module's name starts with it (``json`` must not hide
    ``jsonschema``); its submodules always by ``name.``.
    """
    global _cached
    names = list(sys.modules)
    if _cached[0] == len(names):
        return _cached[1]
    tops = {name.partition(".")[0] for name in names}
    standard = sorted(top for top in tops if top in _STANDARD_LIBRARY)
    others = sorted(name for name in names if name.partition(".")[0] not in _STANDARD_LIBRARY)
    exact = []
    for top in standard:
        at = bisect.bisect_left(others, top)
        if at == len(others) or not others[at].startswith(top):
            exact.append(top)
    prefixes = (*INFRASTRUCTURE_PACKAGES, *(f"{top}." for top in standard), *exact)
    _cached = (len(names), prefixes)
    return prefixes
