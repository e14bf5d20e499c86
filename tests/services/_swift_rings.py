"""Build one-replica Swift rings for the test server.

Runs on the system Python that has the ``swift`` package (Debian's ``python3-swift``), not
on the project's virtual environment: ``/usr/bin/python3 _swift_rings.py CONF_DIR OBJ CONT ACCT``.
"""

import sys

from swift.common.ring import RingBuilder


def build(conf_dir: str, name: str, port: int) -> None:
    builder = RingBuilder(8, 1, 1)  # 2**8 partitions, 1 replica, 1 hour between moves
    builder.add_dev(
        {
            "id": 0,
            "region": 1,
            "zone": 1,
            "ip": "127.0.0.1",
            "port": port,
            "device": "d1",
            "weight": 1.0,
        }
    )
    builder.rebalance()
    builder.save(f"{conf_dir}/{name}.builder")
    builder.get_ring().save(f"{conf_dir}/{name}.ring.gz")


if __name__ == "__main__":
    conf_dir, object_port, container_port, account_port = sys.argv[1:5]
    build(conf_dir, "object", int(object_port))
    build(conf_dir, "container", int(container_port))
    build(conf_dir, "account", int(account_port))
