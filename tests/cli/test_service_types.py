"""`crewboard service …` and `crewboard book --tech auto`, as README documents them."""

from __future__ import annotations

from collections.abc import Callable

from tests.cli.conftest import Result

Cli = Callable[..., Result]


def _crew(cli: Cli) -> None:
    for name in ("Maria Lopez", "Sam Okafor", "Lee Park"):
        email = name.split()[0].lower() + "@example.com"
        assert cli("tech", "add", name, "--email", email, "--timezone", "America/Chicago").code == 0


def _book(
    cli: Cli,
    tech: str,
    customer: str,
    service: str,
    start: str,
    duration: str | None = None,
    json: bool = False,
) -> Result:
    """`crewboard book` with the options these tests vary."""
    args = ["book", "--tech", tech, "--customer", customer, "--service", service, "--start", start]
    if duration is not None:
        args += ["--duration", duration]
    return cli(*args, *(["--json"] if json else []))


def test_services_are_added_edited_listed_and_removed(cli: Cli) -> None:
    _crew(cli)
    added = cli(
        "service",
        "add",
        "AC repair",
        "--duration",
        "90",
        "--buffer",
        "30",
        "--tech",
        "maria",
        "--tech",
        "sam",
    )
    assert added.code == 0
    assert added.out == "Added AC repair: 90 min, 30 min buffer after; qualified: Maria Lopez, Sam Okafor.\n"
    edited = cli(
        "service",
        "edit",
        "ac repair",
        "--remove-tech",
        "sam",
        "--add-tech",
        "lee",
        "--duration",
        "60",
        "--json",
    )
    assert edited.json()["techs"] == ["Lee Park", "Maria Lopez"] and edited.json()["duration_minutes"] == 60
    listed = cli("service", "list", "--json").json()
    assert [(s["name"], s["buffer_minutes"]) for s in listed] == [("AC repair", 30)]
    assert cli("service", "remove", "AC repair").code == 0
    assert cli("service", "list").out == "No services yet; add one with 'crewboard service add'.\n"


def test_bad_service_input_is_one_sentence_and_exit_2(cli: Cli) -> None:
    _crew(cli)
    cases = [
        (
            ("service", "add", "AC", "--duration", "ninety"),
            "--duration 'ninety' is not a whole number of minutes",
        ),
        (("service", "add", "AC", "--duration", "2"), "from 5 minutes to 12 hours"),
        (("service", "add", "AC", "--duration", "60", "--tech", "nobody"), "No technician called 'nobody'"),
        (("service", "remove", "Gutters"), "No service called 'Gutters'"),
    ]
    for args, words in cases:
        result = cli(*args)
        assert result.code == 2 and words in result.err and result.err.count("\n") == 1, result.err
    assert cli("service", "add", "AC", "--duration", "60").code == 0
    again = cli("service", "add", "ac", "--duration", "60")
    assert again.code == 2 and "already a service called 'ac'" in again.err


def test_book_tech_auto_picks_by_the_rule_and_says_why(cli: Cli) -> None:
    _crew(cli)
    cli("service", "add", "AC repair", "--duration", "60", "--tech", "maria", "--tech", "sam")
    # Maria already has a 3-hour job that week; Sam has none.
    _book(cli, tech="maria", customer="Old", service="Boiler", start="2027-03-02T13:00", duration="180")
    first = _book(cli, tech="auto", customer="Kim", service="AC repair", start="2027-03-01T09:00", json=True)
    assert first.code == 0, first.err
    assert first.json()["tech"] == "Sam Okafor"
    assert first.json()["assigned_because"] == "0 h booked this week, fewest among the 2 free"
    second = cli(
        "book", "--tech", "auto", "--customer", "Lee", "--service", "AC repair", "--start", "2027-03-01T09:00"
    )
    assert "with Maria Lopez" in second.out
    assert "(assigned automatically: 3 h booked this week, the only qualified tech free)" in second.out
    third = cli(
        "book", "--tech", "auto", "--customer", "Pat", "--service", "AC repair", "--start", "2027-03-01T09:00"
    )
    assert third.code == 2 and "Nobody qualified for AC repair is free" in third.err
    wrong = _book(
        cli, tech="auto", customer="Pat", service="AC repair", start="2027-03-01T11:00", duration="30"
    )
    assert wrong.code == 2 and "AC repair takes 1 h" in wrong.err
    assert len(cli("bookings", "--json").json()) == 3


def test_the_office_chooses_the_assignment_rule(cli: Cli) -> None:
    _crew(cli)
    assert cli("service", "rule", "--json").json() == {
        "mode": "fewest_hours",
        "weights": {},
        "show_tech_names": False,
    }
    set_ = cli("service", "rule", "--mode", "weighted", "--weight", "maria=2", "--show-tech-names", "yes")
    assert set_.out.splitlines() == [
        "Jobs for any qualified tech go by booked hours per weight, lowest first.",
        "Weights: Maria Lopez 2 (others 1).",
        "Customers see their technician's name.",
    ]
    bad = cli("service", "rule", "--weight", "Maria Lopez=11")
    assert bad.code == 2 and bad.err == "crewboard: A weight is a whole number from 1 to 10.\n"
    cli("service", "add", "AC repair", "--duration", "60", "--tech", "maria", "--tech", "sam")
    # Maria has 2 h at weight 2 (1 per weight), Sam none: Sam first, then Maria at 1 h per weight vs Sam's 1.
    _book(cli, tech="maria", customer="Old", service="Boiler", start="2027-03-02T13:00", duration="120")
    first = _book(cli, tech="auto", customer="A", service="AC repair", start="2027-03-01T09:00", json=True)
    assert first.json()["tech"] == "Sam Okafor"
    second = _book(cli, tech="auto", customer="B", service="AC repair", start="2027-03-01T11:00", json=True)
    assert second.json()["tech"] == "Maria Lopez"
    assert second.json()["assigned_because"] == (
        "2 h booked this week at weight 2, the lowest hours per weight among the 2 free; tied, and assigned least recently"
    )
