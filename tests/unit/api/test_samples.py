"""The generated samples in etc/ match the code, and the rules' doc names every rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tricircle.api import policy

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    ("tool", "generator_conf", "sample"),
    [
        ("oslo-config-generator", "oslo-config-generator/tricircle.conf", "tricircle.conf.sample"),
        (
            "oslo-config-generator",
            "oslo-config-generator/neutron-tricircle.conf",
            "neutron-tricircle.conf.sample",
        ),
        (
            "oslopolicy-sample-generator",
            "oslo-policy-generator/tricircle.conf",
            "policy.yaml.sample",
        ),
    ],
)
def test_sample_is_up_to_date(tmp_path, tool, generator_conf, sample):
    output = tmp_path / sample
    command = [
        str(BIN / tool),
        "--config-file",
        str(ROOT / "etc" / generator_conf),
        "--output-file",
        str(output),
    ]
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    regenerate = f"{tool} --config-file etc/{generator_conf}"
    assert output.read_text() == (ROOT / "etc" / sample).read_text(), f"run: {regenerate}"


def test_rules_doc_names_every_rule():
    doc = (ROOT / "etc" / "README-policy.md").read_text()
    missing = [rule.name for rule in policy.list_rules() if f"`{rule.name}`" not in doc]
    assert not missing
