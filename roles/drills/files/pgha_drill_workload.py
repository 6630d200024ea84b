#!/usr/bin/env python3
# Copyright (c) pgha engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Workload and witness for the pgha failover drills.

    pgha_drill_workload.py run CONFIG      write, probe and watch until CONFIG's stop file appears
    pgha_drill_workload.py analyze CONFIG  read the logs of a run back and print a JSON verdict

`run` starts three kinds of threads, each appending JSON lines to its own log in the run
directory, so that nothing is lost if the controller dies halfway:

* one writer per client path (the libpq multi-host URL with target_session_attrs=read-write,
  HAProxy's primary port): numbered rows into the drill table, one every `interval` seconds.
  An id is written to acks.jsonl only once PostgreSQL acknowledged the commit.  A commit whose
  synchronous-replication wait was cancelled ("already committed locally") is NOT an
  acknowledgement: PostgreSQL says so in a warning, and that is exactly the write an isolated
  primary would lose.
* one prober per member, connected straight to that member: when it claims to be a primary it
  commits a tiny row. Two members accepting writes at overlapping times is a split brain.
* one watcher polling GET /cluster, for leader changes, timelines and the rejoin time.

Only the standard library and psycopg2 are needed (python3-psycopg2 on Debian), so the same
file runs on the controller or on any named client host.
"""
import json
import os
import sys
import threading
import time
import urllib.request

try:
    import psycopg2
except ImportError:  # analyze still reports why
    psycopg2 = None

# The node that took a write. Through PgBouncer the session is on the server's Unix socket
# and inet_server_addr() is NULL; the first listen address (Patroni's "<node address>,
# 127.0.0.1") names the node then.
SERVER_SQL = ("coalesce(host(inet_server_addr()), "
              "split_part(current_setting('listen_addresses'), ',', 1))")

# PostgreSQL's warning when a commit's synchronous-replication wait is cancelled: the row is
# committed locally but the client must not count it as durable.
SYNCREP_CANCEL = ("already committed locally", "canceling wait for synchronous replication")

# The timeline the primary writes on, as hex: the first 8 digits of the current WAL file name
# (pg_walfile_name names it on the insertion timeline). Every promotion starts a new timeline,
# so a member's writes on one timeline all belong to one term of leadership.
TIMELINE_SQL = "substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"


def now():
    return time.time()


class JsonLog(object):
    def __init__(self, path):
        self.lock = threading.Lock()
        self.fh = open(path, "a", buffering=1)

    def write(self, rec):
        with self.lock:
            self.fh.write(json.dumps(rec, sort_keys=True) + "\n")


def connect(dsn, cfg, timeout=None):
    conn = psycopg2.connect(
        dsn,
        dbname=cfg["dbname"],
        user=cfg["user"],
        password=cfg["password"],
        connect_timeout=timeout or cfg.get("connect_timeout", 2),
        application_name="pgha-drill",
        # A dead peer must not hold the writer longer than the drill itself.
        keepalives=1, keepalives_idle=2, keepalives_interval=1, keepalives_count=2,
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SET statement_timeout = %s", (int(cfg.get("statement_timeout_ms", 2000)),))
    return conn


def syncrep_cancelled(conn):
    hit = any(any(s in n for s in SYNCREP_CANCEL) for n in conn.notices)
    del conn.notices[:]
    return hit


class Counter(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.value = 0

    def next(self):
        with self.lock:
            self.value += 1
            return self.value


def writer(cfg, path, counter, acks, errors, stop):
    table = cfg["table"]
    conn = None
    while not stop.is_set():
        if conn is None:
            try:
                conn = connect(path["dsn"], cfg)
            except Exception as e:  # any failure to connect is downtime, not a crash
                errors.write({"t": now(), "path": path["name"], "op": "connect", "error": str(e).strip()[:300]})
                stop.wait(cfg["interval"])
                continue
        wid = counter.next()
        t0 = now()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO {0} (run_id, id, path) VALUES (%s, %s, %s) "
                    "RETURNING {1}, inet_server_port(), {2}".format(table, SERVER_SQL, TIMELINE_SQL),
                    (cfg["run_id"], wid, path["name"]))
                server, port, tl = cur.fetchone()
            t1 = now()
            if syncrep_cancelled(conn):
                errors.write({"t": t1, "path": path["name"], "op": "insert", "id": wid,
                              "error": "synchronous replication wait cancelled: not acknowledged"})
            else:
                acks.write({"id": wid, "t0": t0, "t": t1, "path": path["name"], "server": server,
                            "tl": int(tl, 16)})
        except Exception as e:
            errors.write({"t": now(), "path": path["name"], "op": "insert", "id": wid,
                          "error": str(e).strip()[:300]})
            try:
                conn.close()
            except Exception:
                pass
            conn = None
        stop.wait(cfg["interval"])
    if conn is not None:
        conn.close()


def prober(cfg, member, log, stop):
    """Commit a row on this member whenever it claims to be a primary."""
    dsn = "host={0} port={1}".format(member["host"], member["port"])
    conn = None
    while not stop.is_set():
        t0 = now()
        try:
            if conn is None:
                conn = connect(dsn, cfg, timeout=1)
            with conn.cursor() as cur:
                cur.execute("SELECT pg_is_in_recovery()")
                in_recovery = cur.fetchone()[0]
                if not in_recovery:
                    cur.execute("INSERT INTO {0}_probe (run_id, member) VALUES (%s, %s) RETURNING ".format(cfg["table"])
                                + TIMELINE_SQL, (cfg["run_id"], member["name"]))
                    tl = cur.fetchone()[0]
                    accepted = not syncrep_cancelled(conn)
                    log.write({"t0": t0, "t": now(), "member": member["name"], "accepted": accepted,
                               "tl": int(tl, 16)})
        except Exception:
            if conn is not None:
                try:
                    conn.close()
                except Exception:
                    pass
            conn = None
        stop.wait(cfg.get("probe_interval", 0.5))


def get_json(url, timeout=1.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode("utf-8"))


def watcher(cfg, log, stop):
    urls = [m["api_url"] for m in cfg["members"]]
    while not stop.is_set():
        t = now()
        for url in urls:
            try:
                c = get_json(url.rstrip("/") + "/cluster")
            except Exception:
                continue
            members = {}
            leader = None
            for m in c.get("members", []):
                members[m.get("name")] = {"role": m.get("role"), "state": m.get("state"),
                                          "timeline": m.get("timeline"), "lag": m.get("lag")}
                if m.get("role") in ("leader", "standby_leader") and m.get("state") == "running":
                    leader = m.get("name")
            log.write({"t": t, "leader": leader, "members": members, "via": url})
            # Rotate the list so a dead member is not always asked first.
            if url != urls[0]:
                urls.remove(url)
                urls.insert(0, url)
            break
        stop.wait(cfg.get("watch_interval", 0.5))


def prepare(cfg):
    """Create the drill tables through the client path (first one that answers)."""
    last = None
    for path in cfg["paths"]:
        try:
            conn = connect(path["dsn"], cfg)
        except Exception as e:
            last = e
            continue
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS {0} (run_id text NOT NULL, id bigint NOT NULL, "
                        "path text, at timestamptz NOT NULL DEFAULT clock_timestamp(), "
                        "PRIMARY KEY (run_id, id))".format(cfg["table"]))
            cur.execute("CREATE TABLE IF NOT EXISTS {0}_probe (run_id text NOT NULL, member text, "
                        "at timestamptz NOT NULL DEFAULT clock_timestamp())".format(cfg["table"]))
            # Keep the tables small: rows of runs older than a day prove nothing any more.
            cur.execute("DELETE FROM {0} WHERE at < now() - interval '1 day'".format(cfg["table"]))
            cur.execute("DELETE FROM {0}_probe WHERE at < now() - interval '1 day'".format(cfg["table"]))
        conn.close()
        return
    raise SystemExit("cannot reach the primary through any client path: %s" % last)


def cmd_run(cfg):
    if psycopg2 is None:
        raise SystemExit("psycopg2 is missing on this host (pip install psycopg2-binary or apt install python3-psycopg2)")
    d = cfg["run_dir"]
    prepare(cfg)
    stop = threading.Event()
    acks = JsonLog(os.path.join(d, "acks.jsonl"))
    errors = JsonLog(os.path.join(d, "errors.jsonl"))
    probes = JsonLog(os.path.join(d, "probes.jsonl"))
    watch = JsonLog(os.path.join(d, "cluster.jsonl"))
    counter = Counter()
    threads = [threading.Thread(target=writer, args=(cfg, p, counter, acks, errors, stop)) for p in cfg["paths"]]
    threads += [threading.Thread(target=prober, args=(cfg, m, probes, stop)) for m in cfg["members"]]
    threads.append(threading.Thread(target=watcher, args=(cfg, watch, stop)))
    for t in threads:
        t.daemon = True
        t.start()
    with open(os.path.join(d, "started"), "w") as fh:
        fh.write(str(now()))
    # The stop file ends the run; max_seconds bounds it if the controller never writes it.
    deadline = now() + cfg["max_seconds"]
    while now() < deadline and not os.path.exists(cfg["stop_file"]):
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(10)
    print(json.dumps({"acks": counter.value, "stopped_by": "stop file" if os.path.exists(cfg["stop_file"]) else "max_seconds"}))


def read_jsonl(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass  # a line cut short when the writer was killed
    return out


def longest_gap(times, start, end):
    """Longest interval between consecutive acknowledged writes within [start, end]."""
    pts = [start] + sorted(t for t in times if start <= t <= end) + [end]
    best = (0.0, start)
    for a, b in zip(pts, pts[1:]):
        if b - a > best[0]:
            best = (b - a, a)
    return round(best[0], 3), best[1]


def split_brain(acks, probes, by_addr):
    """Members that accepted writes at the same time.

    Every accepted write is an interval [t0, t]: it committed somewhere in between. The writes
    of one member on one timeline belong to one term of leadership (a demoted member leads
    again only after a promotion, and every promotion starts a new timeline), so the term
    surely lasted at least from its first acknowledgement to the start of its last request.
    Two terms of different members overlap, proven, when their sure spans meet or when a write
    of one lies wholly inside the other's sure span. A primary that moves away and comes back
    (rolling restarts) starts a new term and is no overlap; two primaries alternating writes
    on their own timelines are one.
    """
    terms = {}
    for a in acks:
        if a["server"] is None:  # a session the server cannot place (none since SERVER_SQL)
            continue
        terms.setdefault((by_addr.get(a["server"], a["server"]), a.get("tl")), []).append((a["t0"], a["t"]))
    for p in probes:
        if p.get("accepted"):
            terms.setdefault((p["member"], p.get("tl")), []).append((p["t0"], p["t"]))
    sure = dict((k, (min(t for _, t in ev), max(t0 for t0, _ in ev))) for k, ev in terms.items())

    def inside(writes, span):
        return sum(1 for t0, t in writes if span[0] <= t0 and t <= span[1])

    order = sorted(terms, key=lambda k: sure[k][0])
    found = []
    for i, ka in enumerate(order):
        for kb in order[i + 1:]:
            if ka[0] == kb[0]:
                continue
            (sa, ea), (sb, eb) = sure[ka], sure[kb]
            meet = round(min(ea, eb) - max(sa, sb), 3) if sa <= ea and sb <= eb else -1
            writes = inside(terms[kb], sure[ka]) + inside(terms[ka], sure[kb])
            if meet >= 0 or writes:
                found.append({"members": [ka[0], kb[0]], "timelines": [ka[1], kb[1]],
                              "overlap_s": max(meet, 0), "writes_inside_other_term": writes})
    return found, sorted(set(k[0] for k in terms))


def load_run(cfg):
    """The run's logs, its start time and its stop time (the stop file's mtime)."""
    d = cfg["run_dir"]
    run = dict((name, read_jsonl(os.path.join(d, name + ".jsonl"))) for name in ("acks", "errors", "probes", "cluster"))
    started = os.path.join(d, "started")
    run["started"] = float(open(started).read()) if os.path.exists(started) else None
    # Downtime runs up to the moment the controller stopped the writers: a path that never
    # acknowledged again after the fault was down all that time, not one interval.
    stop = cfg.get("stop_file")
    run["stopped"] = os.path.getmtime(stop) if stop and os.path.exists(stop) else None
    return run


def read_back(cfg, acked):
    """Acknowledged ids missing on each member, read straight from it once it has replayed
    everything (retried until catch_up_timeout)."""
    deadline = now() + cfg.get("catch_up_timeout", 60)
    while True:
        per_member = {}
        for m in cfg["members"]:
            try:
                conn = connect("host={0} port={1}".format(m["host"], m["port"]), cfg, timeout=3)
                with conn.cursor() as cur:
                    cur.execute("SELECT id FROM {0} WHERE run_id = %s".format(cfg["table"]), (cfg["run_id"],))
                    present = set(r[0] for r in cur.fetchall())
                conn.close()
                per_member[m["name"]] = {"missing": sorted(acked - present),
                                         "unacknowledged_present": len(present - acked)}
            except Exception as e:
                per_member[m["name"]] = {"error": str(e).strip()[:300], "missing": None}
        if all(v.get("missing") == [] for v in per_member.values()) or now() > deadline:
            return per_member
        time.sleep(1)


def path_gaps(acks, paths, stopped, fault, heal):
    """Per client path: acknowledged writes, the longest stretch without one (from the path's
    first acknowledgement up to the stop), and whether writes came back after the fault and
    the heal."""
    back_after = max(t for t in (fault, heal) if t) if (fault or heal) else None
    out = {}
    for p in paths:
        ts = sorted(a["t"] for a in acks if a["path"] == p["name"])
        if not ts:
            out[p["name"]] = {"acknowledged": 0, "downtime_s": None, "gap_started_s_after_fault": None,
                              "resumed": False}
            continue
        gap, at = longest_gap(ts, ts[0], max(ts[-1], stopped or ts[-1]))
        out[p["name"]] = {"acknowledged": len(ts), "downtime_s": gap,
                          "gap_started_s_after_fault": round(at - fault, 3) if fault else None,
                          "resumed": back_after is None or ts[-1] > back_after}
    return out


def lost_writes(acks, per_member):
    """Acknowledged writes missing anywhere, in total and per client path."""
    lost = set()
    for v in per_member.values():
        lost.update(v.get("missing") or [])
    path_of = dict((a["id"], a["path"]) for a in acks)
    by_path = {}
    for i in lost:
        by_path[path_of.get(i, "?")] = by_path.get(path_of.get(i, "?"), 0) + 1
    return {
        "members": dict((k, {"missing": len(v["missing"]) if v.get("missing") is not None else None,
                             "unacknowledged_present": v.get("unacknowledged_present"),
                             "error": v.get("error")}) for k, v in per_member.items()),
        "lost": len(lost),
        "lost_by_path": by_path,
        "lost_ids": sorted(lost)[:50],
        "unreadable_members": sorted(k for k, v in per_member.items() if v.get("missing") is None),
    }


def leader_changes(watch, fault, leader_before, outage_start):
    """Leaders and timelines the watcher saw, and when another member first led after the fault
    (counted from the outage start when writes stopped after the fault, since the controller's
    fault time also holds Ansible's own overhead)."""
    seen = [w for w in watch if w.get("leader")]

    def tl(w):
        return (w["members"].get(w["leader"]) or {}).get("timeline")
    before = leader_before or (seen[0]["leader"] if seen else None)
    sequence = []
    for w in seen:
        if not sequence or sequence[-1] != w["leader"]:
            sequence.append(w["leader"])
    new_leader_t = next((w["t"] for w in seen if fault and w["t"] >= fault and w["leader"] != before), None)
    return {
        "leader_before": before,
        "leader_after": seen[-1]["leader"] if seen else None,
        "timeline_before": tl(seen[0]) if seen else None,
        "timeline_after": tl(seen[-1]) if seen else None,
        "leader_sequence": sequence,
        "new_leader_t": new_leader_t,
        "new_leader_after_s": round(new_leader_t - (outage_start or fault), 3) if new_leader_t else None,
    }


def rejoin(watch, n_members, target, fault, ref):
    """When the broken member streams again after ref (heal, new leader or fault), and when the
    whole cluster does. The DCS may still show the old "streaming" state for a moment, so when
    the watcher saw the member down after the fault, only a later "streaming" counts."""
    res = {"rejoin_s": None, "all_streaming_after_s": None}
    if not (target and ref):
        return res
    after_fault = [w for w in watch if fault and w["t"] >= fault]
    down_t = next((w["t"] for w in after_fault if (w["members"].get(target) or {}).get("state") != "streaming"
                   and w.get("leader") != target), None)
    samples = [w for w in watch if w["t"] >= ref]
    for w in samples:
        if down_t is not None and w["t"] <= down_t:
            continue
        if (w["members"].get(target) or {}).get("state") == "streaming":
            res["rejoin_s"] = round(w["t"] - ref, 3)
            break
    for w in samples:
        ms = w["members"]
        if w.get("leader") and len(ms) == n_members and all(
                v.get("state") == "streaming" for k, v in ms.items() if k != w["leader"]):
            res["all_streaming_after_s"] = round(w["t"] - ref, 3)
            break
    return res


def old_primary_writes(acks, probes, by_addr, old, new_leader_t, fault):
    """Writes the old leader took once another member had been promoted: acknowledged writes
    of the client paths and accepted probes whose request started after the first write (or
    the first sight) of the new primary."""
    if not old or not fault:
        return {"acknowledged": 0, "probes": 0, "since_s_after_fault": None}
    others = [a["t"] for a in acks if a["t"] >= fault and by_addr.get(a["server"], a["server"]) != old]
    others += [p["t"] for p in probes if p.get("accepted") and p["t"] >= fault and p["member"] != old]
    starts = others + ([new_leader_t] if new_leader_t else [])
    if not starts:
        return {"acknowledged": 0, "probes": 0, "since_s_after_fault": None}
    since = min(starts)
    return {
        "acknowledged": sum(1 for a in acks if by_addr.get(a["server"], a["server"]) == old and a["t0"] > since),
        "probes": sum(1 for p in probes if p.get("accepted") and p["member"] == old and p["t0"] > since),
        "since_s_after_fault": round(since - fault, 3),
    }


def verdict(res, rules):
    """The checks the writer's own view decides, as (failures, hazards). rules: max_downtime_s
    (for every client path alike), expect_failover (true, false or none), leader_before, and
    old_primary_writes_are_a_hazard (asynchronous replication under a frozen Patroni: the
    old primary's writes are reported, not judged; the HAProxy path must still lose nothing),
    old_primary_writes_reported_only (synchronous replication under a frozen Patroni: writes
    of the old primary that raced the promotion are reported; losses still fail)."""
    failures, hazards = [], []
    bound = rules.get("max_downtime_s")
    for name, p in sorted(res["paths"].items()):
        if not p["acknowledged"]:
            failures.append("no write acknowledged on the {0} path".format(name))
            continue
        if not p["resumed"]:
            failures.append("writes on the {0} path never resumed after the fault".format(name))
        if bound is not None and p["downtime_s"] > float(bound):
            failures.append("write downtime on the {0} path {1} s above the bound of {2} s".format(
                name, p["downtime_s"], bound))
    if not res["acknowledged"]:
        failures.append("no write was acknowledged at all")
    tolerated = rules.get("old_primary_writes_are_a_hazard")
    # Synchronous replication under a frozen Patroni: a commit of the old primary may race the
    # promotion (its sync standby acknowledged it just before being promoted). Such a write is
    # reported; what users must never see, a lost write or a split brain, is still judged below.
    reported_only = tolerated or rules.get("old_primary_writes_reported_only")
    old = res["leader_before"]
    took = res["old_primary_writes_after_promotion"]
    if took["acknowledged"] or took["probes"]:
        (hazards if reported_only else failures).append(
            "the old primary {0} took {1} acknowledged write(s) and {2} probe write(s) after another member "
            "was promoted".format(old, took["acknowledged"], took["probes"]))
    lost_elsewhere = res["lost"] - (res["lost_by_path"].get("libpq", 0) if tolerated else 0)
    if res["lost"] and tolerated:
        hazards.append("{0} acknowledged write(s) lost ({1})".format(res["lost"], ", ".join(
            "{0} on the {1} path".format(n, p) for p, n in sorted(res["lost_by_path"].items()))))
    if lost_elsewhere:
        failures.append("{0} acknowledged write(s) lost: {1}".format(
            res["lost"], ",".join(str(i) for i in res["lost_ids"])))
    if res["unreadable_members"]:
        failures.append("could not read the writes back from " + ", ".join(res["unreadable_members"]))
    brains = [b for b in res["split_brain_detail"] if not (tolerated and old in b["members"])]
    if brains:
        failures.append("SPLIT BRAIN: " + json.dumps(brains, sort_keys=True))
    changed = len(res["leader_sequence"]) > 1 or (res["leader_after"] or old) != old
    if rules.get("expect_failover") is True and (res["leader_after"] or old) == old:
        failures.append("the leader did not change ({0})".format(old))
    if rules.get("expect_failover") is False and changed:
        failures.append("a failover happened where none should: " + " -> ".join(res["leader_sequence"]))
    return failures, hazards


def analyze(cfg, extra, run, per_member):
    """The verdict's facts from a finished run: no I/O, so tests can feed it logs."""
    acks, watch, probes = run["acks"], run["cluster"], run["probes"]
    by_addr = dict((m["host"], m["name"]) for m in cfg["members"])
    by_addr.update(extra.get("addresses") or {})
    fault, heal = extra.get("fault_time"), extra.get("heal_time")
    stopped = run["stopped"] or max([a["t"] for a in acks] + [w["t"] for w in watch] + [0])
    res = {"acknowledged": len(acks), "errors": len(run["errors"])}
    res["paths"] = path_gaps(acks, cfg["paths"], stopped, fault, heal)
    main = cfg["paths"][0]["name"]
    res["downtime_s"] = res["paths"][main]["downtime_s"]
    res.update(lost_writes(acks, per_member))
    sb, writers = split_brain(acks, probes, by_addr)
    res["split_brain"] = bool(sb)
    res["split_brain_detail"] = sb
    res["members_that_accepted_writes"] = writers

    # The outage started when the main path's writes stopped, if that came after the fault.
    outage_start = None
    ts = [a["t"] for a in acks if a["path"] == main]
    if fault and ts:
        _, at = longest_gap(ts, min(ts), max(max(ts), stopped))
        outage_start = at if at >= fault - 1 else None
    res["outage_started_s_after_fault"] = round(outage_start - fault, 3) if outage_start and fault else None
    leaders = leader_changes(watch, fault, extra.get("leader_before"), outage_start)
    new_leader_t = leaders.pop("new_leader_t")
    res.update(leaders)
    res.update(rejoin(watch, len(cfg["members"]), extra.get("target"), fault, heal or new_leader_t or fault))
    res["old_primary_writes_after_promotion"] = old_primary_writes(
        acks, probes, by_addr, res["leader_before"], new_leader_t, fault)
    res["failures"], res["hazards"] = verdict(res, extra)
    res["run_seconds"] = round(stopped - run["started"], 1) if run["started"] else None
    res["last_errors"] = [e["error"] for e in run["errors"][-3:]]
    return res


def cmd_analyze(cfg, extra):
    run = load_run(cfg)
    per_member = read_back(cfg, set(a["id"] for a in run["acks"]))
    print(json.dumps(analyze(cfg, extra, run, per_member), sort_keys=True))


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("run", "analyze"):
        sys.exit(__doc__)
    with open(sys.argv[2]) as fh:
        cfg = json.load(fh)
    if sys.argv[1] == "run":
        cmd_run(cfg)
    else:
        extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
        cmd_analyze(cfg, extra)


if __name__ == "__main__":
    main()
