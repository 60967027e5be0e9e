"""Which loaded modules a wall-clock freeze leaves alone (infrastructure packages, the standard library), and the
patching of the others' own references to the wall-clock functions (``from time import time``).

freezegun would test every loaded module's name against the skipped prefixes on each freeze and each stop; the
list of modules left to patch is worked out here once per change of ``sys.modules`` instead.
"""

from __future__ import annotations

import bisect
import functools
import os
import sys
import time
import weakref
from types import ModuleType
from typing import Any

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
_cached_patched: tuple[tuple[int, str], tuple[str, ...]] = ((-1, ""), ())


def _modules_key() -> tuple[int, str]:
    # modules are added at the end: one removed and another added since changes the last name
    return len(sys.modules), next(reversed(sys.modules), "")


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
    key = _modules_key()
    if _cached[0] == key:
        return _cached[1]
    names = list(sys.modules)
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


def patched_modules() -> tuple[str, ...]:
    """Names of the loaded modules whose own references to the wall-clock functions a freeze replaces."""
    global _cached_patched
    key = _modules_key()
    if _cached_patched[0] != key:
        prefixes = ignored_modules()
        names = tuple(name for name in list(sys.modules) if not name.startswith(prefixes))
        _cached_patched = (key, names)
    return _cached_patched[1]


def fake_wall_clock_references() -> None:
    """In every patched module, point each reference to a real wall-clock function or class (``from time import
    time``, ``from datetime import datetime``) at freezegun's fake; the duration clocks stay real."""
    _replace_references(_wall_clock_pairs()[0])


def restore_wall_clock_references() -> None:
    """Undo ``fake_wall_clock_references``, in the modules imported while frozen too."""
    _replace_references(_wall_clock_pairs()[1])


@functools.cache
def _wall_clock_pairs() -> tuple[dict[int, Any], dict[int, Any]]:
    """(fake by id of real, real by id of fake) for the wall-clock reads freezegun fakes."""
    from freezegun import api

    from tomodachi.testing import virtual_sleep

    # asyncio.sleep too: a service module's own "from asyncio import sleep" waits on the clock in a handler
    pairs: list[tuple[object, object]] = [(api.real_date, api.FakeDate), (api.real_datetime, api.FakeDatetime)]
    pairs.append((virtual_sleep.real_sleep, virtual_sleep.sleep))
    for name in ("time", "time_ns", "gmtime", "localtime", "strftime"):
        real, fake = getattr(api, f"real_{name}", None), getattr(api, f"fake_{name}", None)
        if real is not None and fake is not None:
            pairs.append((real, fake))
    return {id(real): fake for real, fake in pairs}, {id(fake): real for real, fake in pairs}


# per module (by id, checked against a weak reference: a new module may reuse an old one's id), with the size of its
# namespace when scanned: the attributes that held a wall-clock function or class. Every loaded test module is
# patched on every freeze and stop; most hold no such reference, and their names only change when attributes are
# added (a new reference put under an existing name is missed, as by freezegun's own cache of module attributes).
_references: dict[int, tuple[weakref.ref[ModuleType], int, tuple[str, ...]]] = {}


def _replace_references(replacements: dict[int, Any]) -> None:
    fakes, reals = _wall_clock_pairs()
    for name in patched_modules():
        module = sys.modules.get(name)
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict) or name.endswith(".six.moves"):
            continue
        if namespace.get("__name__") in ("datetime", "time"):
            continue
        known = _references.get(id(module))
        if known is None or known[0]() is not module or known[1] != len(namespace):
            attributes = tuple(
                attribute for attribute, value in list(namespace.items()) if id(value) in fakes or id(value) in reals
            )
            if isinstance(module, ModuleType):  # not every object in sys.modules is a module
                key = id(module)
                gone = weakref.ref(module, lambda _, key=key: _references.pop(key, None))  # type: ignore[misc]
                _references[key] = (gone, len(namespace), attributes)
        else:
            attributes = known[2]
        for attribute in attributes:
            replacement = replacements.get(id(namespace.get(attribute)))
            if replacement is not None:
                namespace[attribute] = replacement


def make_local_zone_utc() -> str | None:
    """Make the process's local zone UTC while wall-clock reads are frozen: naive reads (``datetime.now()``,
    ``date.today()``) give the frozen UTC wall time, so ``time.localtime()``, ``datetime.fromtimestamp()``,
    ``.astimezone()`` and schedules without a zone must agree with them, on every machine. Returns the ``TZ``
    variable it replaced (``None``: unset) for ``restore_local_zone``."""
    previous = os.environ.get("TZ")
    if previous != "UTC":
        os.environ["TZ"] = "UTC"
        _tzset()
    return previous


def restore_local_zone(previous: str | None) -> None:
    if previous == "UTC":
        return
    if previous is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous
    _tzset()


def _tzset() -> None:
    tzset = getattr(time, "tzset", None)  # not on Windows: there the zone stays the machine's
    if tzset is not None:
        tzset()
