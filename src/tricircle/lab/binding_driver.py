"""A lab-only ML2 mechanism driver that binds every port, standing in for the missing agents.

The lab's pods run Neutron with no L2 agent, so a stock mechanism driver would leave every port
``binding_failed`` and Nova would refuse to boot. This driver binds the first segment of each port
as an OVS port and marks it ACTIVE. It is loaded by entry point name ``tricircle_lab_binding`` and
used only by the lab's bottom pods, never by Tricircle itself.
"""

from __future__ import annotations

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api


class LabBindingDriver(api.MechanismDriver):
    """Binds any port on any host to its first segment, status ACTIVE."""

    def initialize(self) -> None:
        """Nothing to set up."""

    @property
    def connectivity(self) -> str:
        """The lab pretends to give L2 connectivity, like an OVS agent would."""
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context: api.PortContext) -> None:
        """Bind the port to the first segment offered."""
        for segment in context.segments_to_bind:
            context.set_binding(
                segment[api.ID],
                portbindings.VIF_TYPE_OVS,
                {portbindings.CAP_PORT_FILTER: True, portbindings.OVS_HYBRID_PLUG: False},
                status=constants.PORT_STATUS_ACTIVE,
            )
            return
