"""Use cases: every change to bookings, techs and calendars goes through here."""
