"""A removed guest's state goes, its DHCP client's log stays for diagnosis."""

from __future__ import annotations

from tricircle.lab import guests
from tricircle.lab.layout import LabLayout


def test_removing_a_guest_keeps_only_its_logs(tmp_path, monkeypatch):
    monkeypatch.setattr(guests.namespaces, "exists", lambda _namespace: False)
    layout = LabLayout(root=tmp_path)
    state = guests.state_dir(layout, "server-1")
    state.mkdir(parents=True)
    for name in ("dhclient-eth0.log", "dhclient-eth0.pid", "dhclient.conf"):
        (state / name).write_text(name)
    guests.remove(layout, "server-1")
    assert not state.exists()
    kept = layout.log_dir / "guests" / "server-1-dhclient-eth0.log"
    assert kept.read_text() == "dhclient-eth0.log"
    assert [p.name for p in kept.parent.iterdir()] == [kept.name]


def test_the_dhcp_client_keeps_asking_every_few_seconds():
    conf = dict(line.rstrip(";").split(" ", 1) for line in guests.DHCP_CLIENT_CONF.splitlines()[2:])
    assert conf == {"initial-interval": "1", "backoff-cutoff": "4", "timeout": "600", "retry": "5"}


def _tail(output: str, length: int) -> str:
    """Nova's cut of a console log to its last ``length`` lines (``ComputeManager._tail_log``)."""
    return "\n".join(output.split("\n")[-length:])


def test_the_console_shows_boot_lines_then_the_dhcp_client_log(tmp_path):
    layout = LabLayout(root=tmp_path)
    state = guests.state_dir(layout, "server-1")
    state.mkdir(parents=True)
    exchange = ["DHCPDISCOVER on eth0 to 255.255.255.255 port 67", "bound to 10.0.0.5"]
    (state / "dhclient-eth0.log").write_text("\n".join(exchange) + "\n")
    output = guests.console_log(layout, "server-1")
    lines = output.split("\n")
    assert len(lines) > 3
    assert lines.index("--- dhclient-eth0.log ---") < lines.index("bound to 10.0.0.5")
    assert lines[-1] == "lab-guest-server-1 login: "
    assert _tail(output, 2).split("\n") == ["", "lab-guest-server-1 login: "]


def test_a_removed_guests_console_shows_the_log_it_left(tmp_path):
    layout = LabLayout(root=tmp_path)
    kept = layout.log_dir / "guests"
    kept.mkdir(parents=True)
    (kept / "server-1-dhclient-eth0.log").write_text("bound to 10.0.0.5\n")
    (kept / "server-2-dhclient-eth0.log").write_text("bound to 10.0.0.6\n")
    output = guests.console_log(layout, "server-1")
    assert "bound to 10.0.0.5" in output and "10.0.0.6" not in output


def test_a_guest_without_network_still_has_more_than_three_lines(tmp_path):
    assert len(guests.console_log(LabLayout(root=tmp_path), "server-1").split("\n")) > 3
