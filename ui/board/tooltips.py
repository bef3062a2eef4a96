"""What the board says on hover: a tile's details, an all-day band's label, a tech's hours and health.

Rich text (Qt tooltips render HTML), so every value from a calendar or a dispatcher is escaped.
"""

from __future__ import annotations

import html
from datetime import datetime, tzinfo

from app.domain.model import Technician
from ui.board.health_badge import health_badge
from ui.board.layout import RowLayout, Tile, TileKind
from ui.format import clock_range, duration_text
from ui.resources import palette


def tech_tooltip(row: RowLayout, now: datetime | None) -> str:
    """A tech's name, zone, business hours and, once the clock is known, how their sync is doing."""
    tech: Technician = row.row.tech
    lines = [
        f"<b>{html.escape(tech.name)}</b>",
        html.escape(tech.timezone),
        f"Hours: {html.escape(tech.hours.to_text())}",
    ]
    if now is not None:
        lines.append(html.escape(health_badge(row.row, now).text))
    return "<br>".join(lines)


def band_label(band: Tile) -> str:
    """The pill on an all-day band: what keeps the tech away that day."""
    block = band.block
    if block is None:
        return ""
    if band.kind is TileKind.TIME_OFF:
        return f"Time off · {block.title}" if block.title and block.title != "Time off" else "Time off"
    return f"All day · {block.title}" if block.title else "All day · Busy"


def tile_tooltip(tile: Tile, office: tzinfo) -> str:
    """Rich text describing a tile: what, when (office time and the tech's own), and where from."""
    when = clock_range(tile.interval, office, with_day=True)
    if tile.kind is TileKind.BOOKING and tile.booking is not None:
        booking = tile.booking
        customer = tile.customer
        lines = [f"<b>{html.escape(customer.name if customer else 'Customer')}</b>"]
        lines.append(f"{html.escape(booking.service)} · {duration_text(booking.duration)}")
        lines.append(html.escape(when))
        if tile.online:
            lines.append("Booked online")
        if tile.assigned_because:
            lines.append(f"Assigned automatically: {html.escape(tile.assigned_because)}")
        if customer is not None and customer.address:
            lines.append(html.escape(customer.address))
        if customer is not None and customer.phone:
            lines.append(html.escape(customer.phone))
        if booking.notes:
            lines.append(f"<i>{html.escape(booking.notes)}</i>")
        if tile.flagged:
            lines.append(
                f"<span style='color:{palette.hex('danger')}'>⚠ {html.escape(tile.flag_reason)}</span>"
            )
        return "<br>".join(lines)
    block = tile.block
    if block is None:
        return ""
    if tile.kind is TileKind.TIME_OFF:
        head = "Time off" + (f": {block.title}" if block.title and block.title != "Time off" else "")
    else:
        head = "Busy" + (f": {block.title}" if block.title else " (private event)")
    lines = [f"<b>{html.escape(head)}</b>", html.escape(when)]
    if block.tentative:
        lines.append("Tentative")
    if block.calendar_name:
        lines.append(f"From calendar: {html.escape(block.calendar_name)}")
    return "<br>".join(lines)
