"""The pure sync rules: the planner's decision table, the mass-delete guard and event ownership tags.

No I/O and no clock: given a booking, what the calendar holds and what both last agreed, they
return what to do; sync.engine carries it out.
"""
