"""The emulated Outlook master category list: /me/outlook/masterCategories, as Graph v1.0 serves it.

Each mailbox has its own list of `outlookCategory` items ({id, displayName, color}). Display names
are unique in a list (any case) and cannot be changed after creation; `color` is `none` or
`preset0`..`preset24`. Reading needs MailboxSettings.Read or .ReadWrite; creating, changing and
deleting need MailboxSettings.ReadWrite (403 ErrorAccessDenied otherwise), as Microsoft documents.
The answer to a second category of the same name is not documented; the sandbox says 409
ErrorItemAlreadyExists (unverified), and Crewboard looks the category up by name before creating.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sync.sandbox.graph_store import Mailbox

READ = frozenset({"mailboxsettings.read", "mailboxsettings.readwrite"})
WRITE = frozenset({"mailboxsettings.readwrite"})
COLORS = frozenset({"none", *(f"preset{n}" for n in range(25))})
MAX_NAME = 255


class CategoryError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _denied() -> CategoryError:
    return CategoryError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def render(category_id: str, item: Mapping[str, str]) -> dict[str, Any]:
    return {"id": category_id, "displayName": item["displayName"], "color": item["color"]}


def _color(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in COLORS:
        raise CategoryError(400, "ErrorInvalidRequest", f"The value '{value}' is not a valid categoryColor.")
    return value.lower()


def handle(
    box: Mailbox,
    method: str,
    rest: list[str],
    scopes: set[str],
    body: Callable[[], Mapping[str, Any]],
    context: str,
) -> tuple[int, dict[str, Any] | None]:
    """(status, JSON) for a request under /me/outlook; CategoryError for a refusal."""
    if not rest or rest[0] != "masterCategories":
        raise CategoryError(400, "BadRequest", "Resource not found for the segment 'outlook'.")
    if not scopes & (WRITE if method in ("POST", "PATCH", "DELETE") else READ):
        raise _denied()
    items = box.categories
    if len(rest) == 1:
        if method == "GET":
            values = [render(i, c) for i, c in items.items()]
            return 200, {"@odata.context": context, "value": values}
        if method != "POST":
            raise CategoryError(405, "Request_BadRequest", f"The method {method} is not allowed here.")
        data = body()
        name = data.get("displayName")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise CategoryError(400, "ErrorInvalidRequest", "The category needs a displayName.")
        if any(c["displayName"].casefold() == name.casefold() for c in items.values()):
            raise CategoryError(409, "ErrorItemAlreadyExists", "An object with this name already exists.")
        category_id = str(uuid.uuid4())
        items[category_id] = {"displayName": name, "color": _color(data.get("color", "none"))}
        return 201, render(category_id, items[category_id])
    item = items.get(rest[1]) if len(rest) == 2 else None
    if item is None:
        raise CategoryError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    if method == "GET":
        return 200, render(rest[1], item)
    if method == "PATCH":
        data = body()
        if "displayName" in data and data["displayName"] != item["displayName"]:
            raise CategoryError(
                400, "ErrorInvalidRequest", "The displayName of a category cannot be changed."
            )
        if "color" in data:
            item["color"] = _color(data["color"])
        return 200, render(rest[1], item)
    if method == "DELETE":
        del items[rest[1]]
        return 204, None
    raise CategoryError(405, "Request_BadRequest", f"The method {method} is not allowed here.")
