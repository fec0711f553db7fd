"""``python -m tricircle.lab.neutron_schema URL``: Neutron's schema, as its migrations leave it.

Neutron's migrations do not run on SQLite or PostgreSQL here, so the lab builds the tables from
Neutron's models, as Neutron's own tests do. Creating tables skips the one piece of data the
migrations add: the four default security-group rule templates (egress IPv4 and IPv6 for every
group; ingress from the group itself for default groups). Without them every default security
group would be empty and a real firewall would drop all of a server's traffic; this module adds
them the way the migration does.
"""

from __future__ import annotations

import sys
import uuid

import sqlalchemy as sa
from neutron.db.migration.models import head  # noqa: F401  (registers every model)
from neutron_lib.db import model_base

TABLE = "securitygroupdefaultrules"
DESCRIPTIONS = {
    "egress": "Legacy default SG rule for egress traffic",
    "ingress": "Legacy default SG rule for ingress traffic",
}
DEFAULT_RULES = [
    {"direction": "egress", "ethertype": "IPv4", "used_in_non_default_sg": True},
    {"direction": "egress", "ethertype": "IPv6", "used_in_non_default_sg": True},
    {"direction": "ingress", "ethertype": "IPv4", "remote_group_id": "PARENT"},
    {"direction": "ingress", "ethertype": "IPv6", "remote_group_id": "PARENT"},
]


def build(url: str) -> None:
    """Create Neutron's tables at ``url`` and seed the default security-group rules."""
    engine = sa.create_engine(url)
    metadata = model_base.BASEV2.metadata
    metadata.create_all(engine)
    attributes = metadata.tables["standardattributes"]
    rules = metadata.tables[TABLE]
    with engine.begin() as connection:
        for rule in DEFAULT_RULES:
            inserted = connection.execute(
                sa.insert(attributes).values(
                    resource_type=TABLE, description=DESCRIPTIONS[rule["direction"]]
                )
            )
            connection.execute(
                sa.insert(rules).values(
                    id=str(uuid.uuid4()),
                    standard_attr_id=inserted.inserted_primary_key[0],
                    used_in_default_sg=True,
                    used_in_non_default_sg=rule.get("used_in_non_default_sg", False),
                    **{k: v for k, v in rule.items() if k != "used_in_non_default_sg"},
                )
            )


if __name__ == "__main__":
    build(sys.argv[1])
