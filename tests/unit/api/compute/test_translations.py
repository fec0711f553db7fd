"""Small translations of the gateway: mirroring refusals to Nova faults, pod faults."""

from __future__ import annotations

import json

import pytest
from requests import Response

from tricircle.api.compute import networking
from tricircle.api.compute.faults import NOVA
from tricircle.network import mirror
from tricircle.pods.client import PodCallError, raise_for_status


@pytest.mark.parametrize(
    ("error", "code", "fragment"),
    [
        (mirror.NetworkNotFound("n1"), 400, "Network n1 could not be found."),
        (mirror.PortNotFound("p1"), 400, "Port id p1 could not be found."),
        (mirror.SecurityGroupNotFound("web"), 400, "Security group web not found."),
        (mirror.PortInUse("p1", "vm"), 409, "Port p1 is still in use."),
        (mirror.NetworkNotInPod("n1", "Pod2", "local to Pod1"), 400, "local to Pod1"),
        (mirror.InvalidNetworkRequest("bad fixed_ip"), 400, "bad fixed_ip"),
    ],
)
def test_mirroring_refusals_become_nova_faults(error, code, fragment):
    fault = networking.nova_fault(error)
    assert fault.code == code and fragment in fault.message
    assert "Pod2" not in fault.message


def _response(status: int, body: object) -> Response:
    response = Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    return response


def _nova_fault(response: Response) -> tuple[int, dict]:
    with pytest.raises(PodCallError) as raised:
        raise_for_status("Pod1", "compute", response)
    fault = NOVA.fault_for(raised.value)
    return fault.code, NOVA.body(fault)


def test_a_pod_refusal_keeps_its_nova_fault():
    refused = _response(409, {"conflictingRequest": {"code": 409, "message": "in task_state"}})
    assert _nova_fault(refused) == (
        409,
        {"conflictingRequest": {"code": 409, "message": "in task_state"}},
    )


def test_a_pod_failure_hides_the_pod():
    failed = _response(500, {"computeFault": {"code": 500, "message": "db at 10.0.0.1 down"}})
    code, body = _nova_fault(failed)
    assert code == 500 and "10.0.0.1" not in body["computeFault"]["message"]
