"""`make bench`: latency, cost and scale of Crewboard, measured against the provider sandbox on loopback.

Run it with `python -m tests.bench` (under scripts/with-secret-service, as `make bench` does). Each
group of figures runs in its own Python process, so one group's memory, threads and imports never
colour another's; the runner prints one table and writes the same figures as JSON to $BENCH_OUT.
"""
