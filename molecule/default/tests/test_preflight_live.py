"""Bad input against the live cluster: refused by preflight, and nothing changed.

Each run below is a mistake an operator makes on a running cluster. For each: a non-zero
exit naming the variable or host, and afterwards every configuration file on every host and
Patroni's dynamic configuration (GET /config) and membership are exactly what they were.
"""

import hashlib
import os
import re
import subprocess

import requests
import yaml

from labinfo import CONTAINERS, INVENTORY, PATRONI, PROJECT

# What the roles write; a change to any of them is a change to the cluster.
CONFIG_FILES = [
    "/etc/patroni/config.yml", "/etc/default/etcd", "/etc/pgbouncer/pgbouncer.ini",
    "/etc/pgbackrest/pgbackrest.conf", "/etc/haproxy/haproxy.cfg", "/etc/dbhub/dbhub.toml",
]

CASES = [
    (["playbooks/site.yml", "-e", "patroni_timing_profile=turbo"],
     "patroni_timing_profile = 'turbo' must be one of: default, fast (role patroni_node)"),
    # The case: deployed "successfully" before, with every replica synchronous.
    (["playbooks/site.yml", "-e", "patroni_synchronous_mode=true", "-e", "patroni_synchronous_node_count=3"],
     "patroni_synchronous_node_count = 3 but the 3-member cluster has 2 replica(s)"),
    (["playbooks/rolling_restart.yml", "-e", "patroni_restapi_port=5432"],
     "Port 5432 on pg-node-1 is claimed by patroni_postgresql_port and patroni_restapi_port"),
    (["playbooks/site.yml", "-i", "@absent"],
     "Cannot use pg-node-9 (address 172.28.20.19, connection ssh, user pgha-operator)"),
]


def snapshot():
    """Checksums of every configuration file on every host, and Patroni's view."""
    files = {}
    for name, container in sorted(CONTAINERS.items()):
        out = subprocess.run(["docker", "exec", container, "sh", "-c",
                              "for f in %s; do [ -f $f ] && sha256sum $f; done; true" % " ".join(CONFIG_FILES)],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        files[name] = out
    address = next(iter(PATRONI.values()))
    config = requests.get("http://%s:8008/config" % address, timeout=10).json()
    members = sorted((m["name"], m["host"], m["port"])
                     for m in requests.get("http://%s:8008/cluster" % address, timeout=10).json()["members"])
    return {"files": files, "config": config, "members": members,
            "digest": hashlib.sha256(repr(files).encode()).hexdigest()}


def run(args, absent_inventory):
    args = [absent_inventory if a == "@absent" else a for a in args]
    cmd = ["ansible-playbook", args[0], "-i", INVENTORY, *args[1:]]
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_FORCE_COLOR"}
    env["ANSIBLE_NOCOLOR"] = "1"
    proc = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600, check=False)
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    return proc.returncode, " ".join(out.split())


def test_bad_input_changes_nothing(tmp_path):
    # A fourth member at an unused address of the scenario's own network,
    # layered over its inventory.
    absent = tmp_path / "absent.yml"
    absent.write_text(yaml.safe_dump({"all": {"children": {"patroni": {"hosts": {"pg-node-9": {
        "ansible_host": "172.28.20.19", "pgha_node_address": "172.28.20.19"}}}}}}))
    before = snapshot()
    assert before["files"]["pg-node-1"].count("/etc/") >= 3, before["files"]
    for args, message in CASES:
        rc, out = run(args, str(absent))
        assert rc != 0, "%s was not refused: %s" % (args, out[-2000:])
        assert message in out, "%s: the refusal does not say %r: %s" % (args, message, out[-2000:])
    after = snapshot()
    assert after["files"] == before["files"]
    assert after["config"] == before["config"]
    assert after["members"] == before["members"]
