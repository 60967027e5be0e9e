"""`tomodachi.run()`: start services from code, and `python -m tomodachi.run <files>`."""

from __future__ import annotations

import inspect
import sys
import types
from typing import Any

_has_run = False


def run(app: Any = None, *args: Any, **kwargs: Any) -> None:
    """Run the CLI's run path in-process. Without ``app`` the caller's file is run; kwargs become --key value."""
    global _has_run
    if _has_run:
        return
    _has_run = True
    from tomodachi.cli import cli_entrypoint

    if app is None:
        caller = inspect.stack()[1].filename
        files = [caller]
    else:
        files = [app] if isinstance(app, str) else list(app)
    argv = ["run", *files, *map(str, args)]
    for key, value in kwargs.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value not in (False, None):
            argv.extend([flag, str(value)])
    cli_entrypoint(["tomodachi", *argv])


class _CallableModule(types.ModuleType):
    """Keeps ``tomodachi.run(...)`` callable even after ``import tomodachi.run`` rebinds the attribute."""

    def __call__(self, app: Any = None, *args: Any, **kwargs: Any) -> None:
        run(app, *args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
