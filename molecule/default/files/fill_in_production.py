#!/usr/bin/env python3
"""Fill in a copy of inventories/production.example as README.md tells a user.

The default scenario deploys the cluster from this copy, over SSH, with the
passwords in an Ansible Vault file: whatever README's "Real hosts" section
asks a user to edit is exactly what this script edits, and nothing else.

    fill_in_production.py EXAMPLE_DIR PROD_DIR SCENARIO_HOSTS_YML PLAN_JSON

SCENARIO_HOSTS_YML is the scenario's inventory (its hosts, addresses, the
operator account and the lab subnet). PLAN_JSON (written by prepare.yml,
mode 0600, removed afterwards) holds the passwords for vault.yml and the SSH
key and known_hosts paths. The vault file is written in clear here;
prepare.yml encrypts it with ansible-vault next.
"""
import json
import os
import re
import shutil
import sys

import yaml


def scenario_hosts(scenario):
    """{group: [{name, ansible_host, pgha_node_address}]} in inventory order."""
    known = {}
    for body in scenario["all"]["children"].values():
        for name, hostvars in (body.get("hosts") or {}).items():
            if hostvars:
                known[name] = dict(name=name, **hostvars)
    return {group: [known[name] for name in (body.get("hosts") or {})]
            for group, body in scenario["all"]["children"].items()}


def fill_hosts(example, groups, plan):
    """Step 2: our hosts in place of the example's, group by group, and the
    SSH connection settings."""
    renamed = {}
    for group, body in example["all"]["children"].items():
        ours = groups.get(group, [])
        theirs = list((body or {}).get("hosts") or {})
        if not ours:
            # A group the scenario leaves out, as README allows.
            body["hosts"] = {}
            continue
        if len(theirs) != len(ours):
            raise SystemExit("group %s: the example has %d host(s), the scenario %d" % (group, len(theirs), len(ours)))
        for old, new in zip(theirs, ours):
            if renamed.setdefault(old, new["name"]) != new["name"]:
                raise SystemExit("%s maps to two scenario hosts" % old)
    hosts_by_name = {h["name"]: h for hosts in groups.values() for h in hosts}
    for group, body in example["all"]["children"].items():
        new_hosts = {}
        for old, hostvars in (body.get("hosts") or {}).items():
            name = renamed.get(old)
            if name is None:
                continue
            if hostvars:
                hostvars = dict(hostvars,
                                ansible_host=hosts_by_name[name]["ansible_host"],
                                pgha_node_address=hosts_by_name[name]["pgha_node_address"])
            new_hosts[name] = hostvars
        body["hosts"] = new_hosts
    example["all"]["vars"].update(
        ansible_user=plan["operator"],
        ansible_ssh_private_key_file=plan["ssh_key"],
        ansible_ssh_common_args="-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes" % plan["known_hosts"],
    )
    return example


def set_value(text, name, value):
    """Replace `name: ...` (a scalar or a block list) the way an editor would."""
    rendered = yaml.safe_dump({name: value}, default_flow_style=False, sort_keys=False)
    pattern = re.compile(r"^%s:.*\n(?:[ \t]+-.*\n)*" % re.escape(name), re.M)
    if pattern.search(text):
        return pattern.sub(lambda _m: rendered, text, count=1)
    return text + rendered


def main():
    example_dir, prod_dir, scenario_file, plan_file = sys.argv[1:5]
    with open(plan_file, encoding="utf-8") as f:
        plan = json.load(f)
    with open(scenario_file, encoding="utf-8") as f:
        scenario = yaml.safe_load(f)
    plan["operator"] = scenario["all"]["vars"]["ansible_user"]
    # What README "Real hosts" names for cluster.yml, with this lab's values.
    cluster_settings = {
        # The networks of the application servers, HAProxy and the backup host.
        "patroni_hba_client_networks": [scenario["all"]["vars"]["pgha_lab_subnet"]],
        # The profile that fits the hosts (the example's "large" is for > 1 TB).
        "patroni_tuning_profile": "small",
        # Have the two CAs made on the first run.
        "etcd_tls_ca_create": True,
        "pgbackrest_tls_ca_create": True,
        # Behind a TLS-intercepting proxy, npm (DBHub) must trust its CA.
        "dbhub_npm_cafile": "/etc/ssl/certs/ca-certificates.crt",
        # DBHub answers on its host's cluster address, not only on loopback.
        "dbhub_bind_address": "{{ pgha_node_address }}",
    }

    # 1. cp -r inventories/production.example inventories/prod
    if os.path.exists(prod_dir):
        shutil.rmtree(prod_dir)
    shutil.copytree(example_dir, prod_dir)

    # 2. hosts.yml: names, addresses, SSH settings.
    hosts_file = os.path.join(prod_dir, "hosts.yml")
    with open(hosts_file, encoding="utf-8") as f:
        hosts = fill_hosts(yaml.safe_load(f), scenario_hosts(scenario), plan)
    with open(hosts_file, "w", encoding="utf-8") as f:
        f.write("---\n" + yaml.safe_dump(hosts, default_flow_style=False, sort_keys=False))

    # 3. cluster.yml: the client network, the profile that fits the hosts,
    #    the CAs made on the first run, and what the README names for a
    #    network behind a TLS-intercepting proxy and for DBHub's address.
    cluster_file = os.path.join(prod_dir, "group_vars", "all", "cluster.yml")
    with open(cluster_file, encoding="utf-8") as f:
        cluster = f.read()
    for name, value in cluster_settings.items():
        cluster = set_value(cluster, name, value)
    with open(cluster_file, "w", encoding="utf-8") as f:
        f.write(cluster)

    # 4. vault.yml from vault.yml.example, every password filled in (in
    #    clear for a moment: prepare.yml runs ansible-vault encrypt next).
    vars_dir = os.path.join(prod_dir, "group_vars", "all")
    with open(os.path.join(vars_dir, "vault.yml.example"), encoding="utf-8") as f:
        vault = f.read()
    names = re.findall(r"^(vault_\w+):", vault, re.M)
    missing = sorted(set(names) - set(plan["vault"]))
    if missing:
        raise SystemExit("no value for %s" % ", ".join(missing))
    for name in names:
        vault = set_value(vault, name, plan["vault"][name])
    fd = os.open(os.path.join(vars_dir, "vault.yml"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(vault)


if __name__ == "__main__":
    main()
