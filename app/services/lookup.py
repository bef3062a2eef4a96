"""Finding a record by the id a person typed: the whole id, or an unambiguous start of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from app.errors import InvalidInput, NotFound

T = TypeVar("T")


def by_id_or_prefix(
    typed: str,
    get: Callable[[str], T | None],
    by_prefix: Callable[[str], list[T]],
    *,
    noun: str,
    listing: str,
    min_prefix: int,
) -> T:
    """The record whose id is `typed`, or the only one whose id starts with it.

    `noun` names the kind ("booking"), `listing` the command that lists them; a prefix shorter than
    `min_prefix` is not tried, so a stray keystroke never picks a record by chance.
    """
    key = typed.strip().lower()
    found = get(key)
    if found is not None:
        return found
    if len(key) >= min_prefix:
        matches = by_prefix(key)
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidInput(
                f"{noun.capitalize()} id '{typed}' matches {len(matches)} {noun}s; give more of it."
            )
    raise NotFound(f"No {noun} with id '{typed}'; list them with '{listing}'.")
