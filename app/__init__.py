"""Crewboard: the application core (domain rules, use cases, events) and its composition roots."""
