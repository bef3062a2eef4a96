"""The dispatch board: technicians as rows, time as columns, bookings and busy time as tiles."""
