"""Two-way sync between bookings and technicians' calendars: rules, engine, providers, push.

`sync.sandbox` beside it emulates the providers; product code reaches it over HTTP only.
"""
