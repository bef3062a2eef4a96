"""`crewboard demo`: the app on a small demo business, in a fresh temporary folder.

Nothing touches the user's real store: the database, logs and settings of the demo live in a
temporary folder that is removed when the window closes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date, time, timedelta
from pathlib import Path

from app.domain.time import Clock, SystemClock, local_to_utc, zone
from app.services.bookings import NewBooking
from app.services.container import Services

DEMO_TECHS = (
    # name, email, zone, hours
    ("Maria Lopez", "maria@northwind-hvac.test", "America/Chicago", "mon-fri 07:00-16:00"),
    ("Dave Chen", "dave@northwind-hvac.test", "America/Chicago", "mon-fri 08:00-17:00; sat 09:00-13:00"),
    ("Priya Patel", "priya@northwind-hvac.test", "America/Chicago", "mon-fri 08:00-17:00"),
    ("Sam Okafor", "sam@northwind-hvac.test", "America/Los_Angeles", "mon-fri 08:00-17:00"),
    ("Lena Fischer", "lena@northwind-hvac.test", "America/Los_Angeles", "tue-sat 09:00-18:00"),
)

DEMO_JOBS = (
    # tech index, weekday offset, local start hour, minutes, customer, address, service
    (0, 0, 8, 90, "Harbor Dental", "1200 Lake St, Chicago", "AC maintenance"),
    (0, 0, 13, 120, "Greene Residence", "44 Elm Ave, Evanston", "Furnace repair"),
    (1, 0, 9, 60, "Oak Park Library", "834 Lake St, Oak Park", "Thermostat install"),
    (1, 1, 10, 180, "Riverside Bakery", "19 Harlem Ave, Riverside", "Walk-in cooler service"),
    (2, 0, 11, 90, "Kowalski Family", "310 Pine Rd, Skokie", "Water heater flush"),
    (2, 2, 8, 240, "Lakeview Apartments", "2500 N Clark St, Chicago", "Boiler inspection"),
    (3, 0, 9, 120, "Sunset Cafe", "8801 Sunset Blvd, Los Angeles", "Ice machine repair"),
    (3, 1, 14, 90, "Nguyen Residence", "77 Vista Dr, Pasadena", "AC repair"),
    (4, 1, 10, 60, "Bayside Clinic", "400 Ocean Ave, Santa Monica", "Filter replacement"),
    (4, 3, 13, 150, "Marina Lofts", "13900 Marquesas Way, Marina del Rey", "Duct cleaning"),
)


def week_start(today: date) -> date:
    return today - timedelta(days=today.weekday())


def seed_demo(services: Services, clock: Clock) -> None:
    """A small HVAC business: five techs in two zones and a week of jobs from this Monday."""
    techs = [services.techs.add(n, e, z, h) for n, e, z, h in DEMO_TECHS]
    monday = week_start(clock.now().astimezone(zone("America/Chicago")).date())
    for index, offset, hour, minutes, customer, address, service in DEMO_JOBS:
        tech = techs[index]
        day = monday + timedelta(days=offset)
        start = local_to_utc(day, time(hour), zone(tech.timezone))
        services.bookings.create(
            NewBooking(customer, service, timedelta(minutes=minutes), start, tech.id, address=address),
            force=True,
        )
    services.bookings.create(
        NewBooking(
            "Jensen Hardware",
            "Rooftop unit inspection",
            timedelta(minutes=120),
            address="5 Main St, Naperville",
        )
    )
    services.time_off.add_days(techs[2].id, monday + timedelta(days=4), 1, "PTO")


def run_demo() -> int:
    folder = Path(tempfile.mkdtemp(prefix="crewboard-demo-"))
    os.environ.setdefault("CREWBOARD_LOG_DIR", str(folder / "logs"))
    try:
        from storage.database import open_database

        url = f"sqlite:///{folder / 'crewboard.db'}"
        database = open_database(url)
        clock = SystemClock()
        seed_demo(Services.build(database.unit_of_work, clock), clock)
        database.dispose()
        from app.main import open_app

        return open_app(url)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
