"""`crewboard office` and `tech edit --outlook-colour`: the office's number and colour on Outlook."""

from __future__ import annotations

from collections.abc import Callable

from tests.cli.conftest import Result

Cli = Callable[..., Result]


def test_the_office_number_and_outlook_colour_are_set_and_shown(cli: Cli) -> None:
    shown = cli("office", "--json")
    assert shown.code == 0 and shown.json() == {"phone": None, "public_url": None, "outlook_colour": False}
    assert "Job pages: none" in cli("office").out
    assert cli("office", "--phone", "(312) 555-0142", "--outlook-colour", "on").code == 0
    assert cli("office", "--json").json() == {
        "phone": "(312) 555-0142",
        "public_url": None,
        "outlook_colour": True,
    }


def test_a_phone_number_that_is_not_one_is_refused_and_nothing_is_written(cli: Cli) -> None:
    refused = cli("office", "--phone", "call me maybe")
    assert refused.code == 2 and "is not a phone number" in refused.err and "Traceback" not in refused.err
    assert cli("office", "--json").json()["phone"] is None


def test_a_tech_opts_in_to_outlook_colour(cli: Cli) -> None:
    assert (
        cli("tech", "add", "Sam Reed", "--email", "sam@contoso.com", "--timezone", "America/Chicago").code
        == 0
    )
    off = cli("tech", "edit", "Sam Reed", "--outlook-colour", "on")
    assert off.code == 0 and "off for the office" in off.out
    cli("office", "--outlook-colour", "on")
    on = cli("tech", "edit", "Sam Reed", "--outlook-colour", "on", "--json")
    assert on.code == 0 and on.json()["outlook_colour"] is True and on.json()["name"] == "Sam Reed"
    again = cli("tech", "edit", "Sam Reed", "--outlook-colour", "on")
    assert "crewboard connect 'Sam Reed' --provider microsoft" in again.out
    assert (
        cli("tech", "edit", "Sam Reed", "--outlook-colour", "off", "--json").json()["outlook_colour"] is False
    )
