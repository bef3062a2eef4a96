"""Local emulators of the Google Calendar API and Microsoft Graph, with their sign-in servers.

A product feature (behind `crewboard demo` and `crewboard sandbox`) and the ground truth our
tests run the real client libraries against. Product code reaches it only over HTTP.
"""
