"""Crewboard's web side, served by the office service.

The server and its limits (server, asgi, connections, limits) know no route; the pages (booking,
job) and /healthz (healthz) are routes; `crewboard serve` (app/cli/serve.py) joins them with sync's
push routes.
"""
