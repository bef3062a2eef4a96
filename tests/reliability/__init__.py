"""Reliability and security: crash safety, hostile input from providers and users, secrets and privacy."""
