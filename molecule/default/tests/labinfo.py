"""Where the scenario's hosts are, read from its own inventory."""

import os

import requests
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIO = os.path.dirname(HERE)
PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.dirname(os.path.dirname(SCENARIO)))
INVENTORY = os.path.join(SCENARIO, "inventory", "hosts.yml")


def inventory():
    with open(INVENTORY, encoding="utf-8") as f:
        return yaml.safe_load(f)["all"]


INV = inventory()
DBHUB_ADDRESS = INV["children"]["dbhub"]["hosts"]["dbhub-1"]["pgha_node_address"]
PATRONI = {name: h["pgha_node_address"] for name, h in INV["children"]["patroni"]["hosts"].items()}
# Each host's container, for `docker exec` from the controller (the scenario
# itself reaches the hosts over SSH at their addresses).
CONTAINERS = {name: h.get("pgha_lab_container", h.get("ansible_host"))
              for group in INV["children"].values() for name, h in (group.get("hosts") or {}).items()
              if h and "ansible_host" in h}
DBHUB_URL = "http://%s:9090" % DBHUB_ADDRESS
# Each member's Patroni REST API (role common's pgha_restapi_urls, as the lab
# sets it), and the connection arguments of the pgha.cluster.patroni modules
# for an ad-hoc ansible call (the password is resolved by Ansible).
RESTAPI_URLS = {name: "http://%s:8008" % address for name, address in PATRONI.items()}
API_ARGS = "api_url={0} api_username=patroni api_password={{{{ patroni_restapi_password }}}}".format(
    ",".join(RESTAPI_URLS.values()))


def secret(name):
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "lab", "secrets", name)
    with open(path, encoding="utf-8") as f:
        return f.read().split()[0]


def cluster():
    for url in RESTAPI_URLS.values():
        try:
            return requests.get(url + "/cluster", timeout=5).json()
        except requests.RequestException:
            continue
    raise AssertionError("no Patroni member answered GET /cluster")


def leader():
    return next(m["name"] for m in cluster()["members"] if m["role"] == "leader")
