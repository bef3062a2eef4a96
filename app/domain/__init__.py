"""Pure domain types and rules. Imports the standard library only (and dateutil for RRULEs)."""
