"""Crewboard's tests, one folder per package, against real parts (files, PostgreSQL, the keyring,
the provider sandbox over HTTP); tests/bench and tests/soak measure and stress apart from them."""
