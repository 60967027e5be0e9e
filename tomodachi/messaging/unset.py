"""``UNSET``: the one marker of an argument the caller did not give, where ``None`` already means something."""

from __future__ import annotations

from typing import Final


class Unset:
    """The type of :data:`UNSET` (one instance). Falsy, so ``value or default`` treats it as not given."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False

    def __copy__(self) -> Unset:
        return self

    def __deepcopy__(self, memo: object) -> Unset:
        return self

    def __reduce__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()
