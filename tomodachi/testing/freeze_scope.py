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
    "pytest.",
    "pytest_asyncio.",
    "pluggy.",
    "iniconfig.",
    "anyio.",  # loaded as a pytest plugin
    "hypothesis.",
    "_hypothesis_globals.",
    "_hypothesis_pytestplugin.",
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
    "frozenlist.",
    "propcache.",
    "aiosignal.",
    "aiohappyeyeballs.",
    "idna.",
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
    "six.",
    "typing_extensions.",
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
# infrastructure by top-level name (what the prefixes above name), for whole-package prefixes
_INFRASTRUCTURE_TOPS = frozenset(prefix.rstrip(".") for prefix in INFRASTRUCTURE_PACKAGES if prefix.count(".") == 1)
_cached: tuple[tuple[int, str], tuple[str, ...]] = ((-1, ""), ())


def ignored_modules() -> tuple[str, ...]:
    """Prefixes of the module names a freeze skips (freezegun matches by prefix, in order).

    Standard-library modules time with ``monotonic`` / ``perf_counter`` (real anyway) or read wall time through
    the ``time`` / ``datetime`` modules, which the freeze patches where they live. A skipped top-level package
    (standard or infrastructure) is skipped by its bare name — the package module and its submodules in one
    prefix — only when no other loaded module's name starts with it (``json`` must not hide ``jsonschema``);
    else by ``name.`` (its submodules) alone. The bare names come first, those covering most modules leading,
    so that the prefix test of a skipped module ends early: a freeze tests every loaded module's name.
    """
    global _cached
    names = list(sys.modules)
    # modules are added at the end: one removed and another added since changes the last name
    key = (len(names), names[-1] if names else "")
    if _cached[0] == key:
        return _cached[1]
    covered: dict[str, int] = {}
    for name in names:
        top = name.partition(".")[0]
        if top in _STANDARD_LIBRARY or top in _INFRASTRUCTURE_TOPS:
            covered[top] = covered.get(top, 0) + 1
    others = sorted(name for name in names if name.partition(".")[0] not in covered)
    bare = []
    for top in covered:
        at = bisect.bisect_left(others, top)
        if at == len(others) or not others[at].startswith(top):
            bare.append(top)
    bare.sort(key=lambda top: -covered[top])
    dotted = (*INFRASTRUCTURE_PACKAGES, *(f"{top}." for top in sorted(covered) if top in _STANDARD_LIBRARY))
    prefixes = (*bare, *dotted)
    _cached = (key, prefixes)
    return prefixes
