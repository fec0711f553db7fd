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
