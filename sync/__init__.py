"""Two-way sync between bookings and technicians' calendars, and the provider sandbox."""
