"""The WebDAV/CalDAV XML Crewboard sends and reads: request bodies and multistatus answers.

Pure: bytes in, small frozen values out. A multistatus answer is reduced to one `DavResponse`
per `<response>`: its href, the HTTP status of the href itself (sync-collection reports removed
members that way), and the properties that came back with status 200, as elements.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CALSERVER = "http://calendarserver.org/ns/"
APPLE_ICAL = "http://apple.com/ns/ical/"

_PREFIXES = {DAV: "d", CALDAV: "c", CALSERVER: "cs", APPLE_ICAL: "ic"}


class DavXmlError(ValueError):
    """The server answered XML we cannot read."""


def q(namespace: str, name: str) -> str:
    """ElementTree's `{namespace}name` spelling."""
    return f"{{{namespace}}}{name}"


def _tag(qualified: str) -> str:
    namespace, _, name = qualified[1:].partition("}")
    return f"{_PREFIXES[namespace]}:{name}"


def _document(root: str, inner: str) -> bytes:
    spaces = " ".join(f'xmlns:{prefix}="{ns}"' for ns, prefix in _PREFIXES.items())
    return f'<?xml version="1.0" encoding="utf-8"?>\n<{root} {spaces}>{inner}</{root}>'.encode()


def _props(names: Iterable[str]) -> str:
    return "<d:prop>" + "".join(f"<{_tag(n)}/>" for n in names) + "</d:prop>"


def propfind(names: Iterable[str]) -> bytes:
    return _document("d:propfind", _props(names))


def sync_collection(token: str | None, names: Iterable[str]) -> bytes:
    """RFC 6578: every member (no token) or the members changed since `token`."""
    token_text = _escape(token) if token else ""
    inner = f"<d:sync-token>{token_text}</d:sync-token><d:sync-level>1</d:sync-level>{_props(names)}"
    return _document("d:sync-collection", inner)


def multiget(hrefs: Iterable[str], names: Iterable[str]) -> bytes:
    """RFC 4791 calendar-multiget for the given member hrefs."""
    inner = _props(names) + "".join(f"<d:href>{_escape(h)}</d:href>" for h in hrefs)
    return _document("c:calendar-multiget", inner)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True, slots=True)
class DavResponse:
    href: str
    status: int | None  # the href's own status (404 for a member removed since the sync token)
    props: Mapping[str, ET.Element] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        element = self.props.get(name)
        if element is None or element.text is None:
            return None
        return element.text.strip() or None

    def child_hrefs(self, name: str) -> list[str]:
        element = self.props.get(name)
        if element is None:
            return []
        return [h.text.strip() for h in element.iter(q(DAV, "href")) if h.text and h.text.strip()]

    def has_child(self, name: str, child: str) -> bool:
        element = self.props.get(name)
        return element is not None and element.find(f".//{child}") is not None


@dataclass(frozen=True, slots=True)
class Multistatus:
    responses: tuple[DavResponse, ...]
    sync_token: str | None


def _status_code(element: ET.Element | None) -> int | None:
    if element is None or not element.text:
        return None
    parts = element.text.split()
    if len(parts) >= 2 and parts[1].isdigit():
        return int(parts[1])
    return None


def parse_multistatus(body: bytes) -> Multistatus:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as error:
        raise DavXmlError(f"the server's answer is not XML ({error})") from None
    if root.tag != q(DAV, "multistatus"):
        raise DavXmlError(f"the server answered {root.tag} where a multistatus belongs")
    responses: list[DavResponse] = []
    for response in root.findall(q(DAV, "response")):
        href = response.findtext(q(DAV, "href"))
        if not href or not href.strip():
            continue
        props: dict[str, ET.Element] = {}
        for propstat in response.findall(q(DAV, "propstat")):
            status = _status_code(propstat.find(q(DAV, "status")))
            if status is not None and not 200 <= status < 300:
                continue
            prop = propstat.find(q(DAV, "prop"))
            if prop is not None:
                for child in prop:
                    props[child.tag] = child
        responses.append(
            DavResponse(
                href=normalize_href(href.strip()),
                status=_status_code(response.find(q(DAV, "status"))),
                props=props,
            )
        )
    token = root.findtext(q(DAV, "sync-token"))
    return Multistatus(tuple(responses), token.strip() if token else None)


def normalize_href(href: str) -> str:
    """An href as a path: servers answer full URLs or paths, percent-encoded or not."""
    path = urlsplit(href).path if "://" in href else href
    return unquote(path)


def absolute(base: str, href: str) -> str:
    """The URL of `href` (a path or a URL) as seen from `base`."""
    return urljoin(base, href)
