"""The office service's web server: one ASGI application on uvicorn, with limits for hostile traffic.

This package knows nothing of Crewboard's business: it serves whatever Starlette routes it is given
(the push receiver's, /healthz, the booking page's) and keeps every connection within bounds.
"""
