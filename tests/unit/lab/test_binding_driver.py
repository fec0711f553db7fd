"""The lab's mechanism driver binds the first segment offered, ACTIVE, as an OVS port."""

from __future__ import annotations

from importlib.metadata import entry_points

from neutron_lib.api.definitions import portbindings

from tricircle.lab.binding_driver import LabBindingDriver


class RecordingPortContext:
    """Just what bind_port reads and writes."""

    def __init__(self, segments: list[dict]) -> None:
        self.segments_to_bind = segments
        self.bindings: list[tuple] = []

    def set_binding(self, segment_id, vif_type, vif_details, status=None):
        self.bindings.append((segment_id, vif_type, vif_details, status))


def test_binds_first_segment_active():
    context = RecordingPortContext([{"id": "seg-1"}, {"id": "seg-2"}])
    LabBindingDriver().bind_port(context)
    assert len(context.bindings) == 1
    segment_id, vif_type, details, status = context.bindings[0]
    assert (segment_id, vif_type, status) == ("seg-1", portbindings.VIF_TYPE_OVS, "ACTIVE")
    assert details[portbindings.CAP_PORT_FILTER] is True


def test_no_segment_no_binding():
    context = RecordingPortContext([])
    LabBindingDriver().bind_port(context)
    assert context.bindings == []


def test_registered_for_ml2_by_name():
    found = entry_points(group="neutron.ml2.mechanism_drivers", name="tricircle_lab_binding")
    assert [ep.load() for ep in found] == [LabBindingDriver]
