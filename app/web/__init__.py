"""Crewboard's own web pages, served by the office service (see the `web` package for the server)."""
