"""The mass-delete guard: when a calendar read is too destructive to apply without a person.

Like vdirsyncer's refusal to sync a storage that suddenly reads back empty: a calendar that
reads back empty or without most of its job events (a wrong account, an ACL change, a provider
bug) must not turn into dozens of "the tech deleted your job" alarms or a wiped mirror. Both
rules and their thresholds live here; the inbound reader counts, this decides. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MassDeleteGuard:
    """Refuses a read that would delete or flag a large share of a calendar's events at once."""

    max_share: float = 0.5  # of the job events known, the most one read may remove
    min_count: int = 5  # fewer removals than this are normal work, whatever their share

    def allows(self, destructive: int, linked: int) -> bool:
        """Whether a read may remove `destructive` of the `linked` job events known."""
        if destructive < self.min_count:
            return True
        return linked == 0 or destructive / linked <= self.max_share

    def allows_empty(self, known: int) -> bool:
        """Whether a full read that found no event at all may replace the `known` events."""
        return known < self.min_count

    def refusal(
        self, where: str, *, read_empty: bool, known: int, linked: int, destructive: int
    ) -> str | None:
        """Why a read of the calendar `where` must not be applied, or None when it may.

        `read_empty`: a full read found no event; `known`: the events known in what it covered;
        `linked`: those that are job events; `destructive`: the job events it would remove.
        """
        if read_empty and not self.allows_empty(known):
            return (
                f"Calendar {where} suddenly read back empty while {known} events were known; "
                "its events were kept. Check that the account is the right one and still shared."
            )
        if not self.allows(destructive, linked):
            return (
                f"Calendar {where} would lose {destructive} of its {linked} job events at once; "
                "nothing was changed. Check the account before syncing it again."
            )
        return None
