#!/usr/bin/env python3
"""Count reads of one role's public variables by another role.

The values every role shares live in roles/common, which every role reads; a
role reading another role's own variable instead is what this lists. A
role's variables are the keys of its defaults/main.yml and the options of its
meta/argument_specs.yml (roles/common, then the first role to declare a name, owns it). A read is
the name in another role's tasks, handlers, defaults, vars or templates,
outside comments and not as a YAML key (a key passes an argument).

    scripts/cross_role_reads.py [ROOT [PREFIX...]]   (default: every role's prefix)

Prints each read and the totals per reading role; exits 0 (a measure, not a gate).
"""
import collections
import os
import re
import sys

import yaml

ROOT = sys.argv[1] if len(sys.argv) > 1 else "."
# roles/common first: it owns the pgha_ facts the others also declare.
roles = sorted(os.listdir(os.path.join(ROOT, "roles")), key=lambda r: (r != "common", r))
owned = {}
for r in roles:
    names = set()
    d = os.path.join(ROOT, "roles", r, "defaults", "main.yml")
    if os.path.exists(d):
        names |= set((yaml.safe_load(open(d)) or {}).keys())
    s = os.path.join(ROOT, "roles", r, "meta", "argument_specs.yml")
    if os.path.exists(s):
        for ep in (yaml.safe_load(open(s))["argument_specs"] or {}).values():
            names |= set((ep.get("options") or {}).keys())
    for n in names:
        owned.setdefault(n, r)
token = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
prefixes = tuple(sys.argv[2:]) or ("patroni_", "etcd_", "pgbackrest_", "haproxy_", "dbhub_", "pgbouncer_",
                                    "pki_", "drills_", "cluster_ops_", "preflight_")
reads = collections.Counter()
for r in roles:
    for sub in ("tasks", "handlers", "defaults", "vars", "templates"):
        base = os.path.join(ROOT, "roles", r, sub)
        for dp, _, files in os.walk(base):
            for f in files:
                p = os.path.join(dp, f)
                for i, line in enumerate(open(p), 1):
                    line = re.sub(r"(^|\s)#.*", "", line)  # comments are not reads
                    key = re.match(r"\s*-?\s*([a-z0-9_]+):", line)
                    for m in token.finditer(line):
                        n = m.group(0)
                        if key and key.group(1) == n and m.start() == line.index(n):
                            continue
                        o = owned.get(n)
                        # Reading the home (roles/common) is the point, not a cross read.
                        if o and o not in (r, "common") and n.startswith(prefixes):
                            reads[r] += 1
                            print("%s:%d: %s (of %s)" % (os.path.relpath(p, ROOT), i, n, o))
print("cross-role reads:", sum(reads.values()), dict(reads))
