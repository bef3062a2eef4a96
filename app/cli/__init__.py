"""The `crewboard` command line: one composition root that parses arguments and calls app.services."""
