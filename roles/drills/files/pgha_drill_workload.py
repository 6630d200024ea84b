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
                    "RETURNING host(inet_server_addr()), inet_server_port(), {1}".format(table, TIMELINE_SQL),
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


def cmd_analyze(cfg, extra):
    d = cfg["run_dir"]
    acks = read_jsonl(os.path.join(d, "acks.jsonl"))
    errors = read_jsonl(os.path.join(d, "errors.jsonl"))
    probes = read_jsonl(os.path.join(d, "probes.jsonl"))
    watch = read_jsonl(os.path.join(d, "cluster.jsonl"))
    by_addr = dict((m["host"], m["name"]) for m in cfg["members"])
    fault = extra.get("fault_time")
    heal = extra.get("heal_time")
    target = extra.get("target")
    started = float(open(os.path.join(d, "started")).read()) if os.path.exists(os.path.join(d, "started")) else None
    end = max([a["t"] for a in acks] + [w["t"] for w in watch] + [now() if not acks else 0])
    res = {"acknowledged": len(acks), "errors": len(errors), "paths": {}}

    # Write downtime per client path: the longest gap between two acknowledged writes,
    # counted from the first acknowledged write of the run to the last.
    for p in cfg["paths"]:
        ts = [a["t"] for a in acks if a["path"] == p["name"]]
        if not ts:
            res["paths"][p["name"]] = {"acknowledged": 0, "downtime_s": None}
            continue
        gap, at = longest_gap(ts, min(ts), max(ts))
        res["paths"][p["name"]] = {"acknowledged": len(ts), "downtime_s": gap,
                                   "gap_started_s_after_fault": round(at - fault, 3) if fault else None}
    main = cfg["paths"][0]["name"]
    res["downtime_s"] = res["paths"][main]["downtime_s"]

    # Lost writes: acknowledged ids missing on any member, read straight from each member once
    # it has replayed everything (retried until catch_up_timeout).
    acked = set(a["id"] for a in acks)
    deadline = now() + cfg.get("catch_up_timeout", 60)
    per_member = {}
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
            break
        time.sleep(1)
    lost = set()
    for v in per_member.values():
        lost.update(v.get("missing") or [])
    res["members"] = dict((k, {"missing": len(v["missing"]) if v.get("missing") is not None else None,
                               "unacknowledged_present": v.get("unacknowledged_present"),
                               "error": v.get("error")}) for k, v in per_member.items())
    res["lost"] = len(lost)
    res["lost_ids"] = sorted(lost)[:50]
    res["unreadable_members"] = sorted(k for k, v in per_member.items() if v.get("missing") is None)

    sb, writers = split_brain(acks, probes, by_addr)
    res["split_brain"] = bool(sb)
    res["split_brain_detail"] = sb
    res["members_that_accepted_writes"] = writers

    # Leader, timeline and rejoin from the watcher's samples.
    seen = [w for w in watch if w.get("leader")]
    res["leader_before"] = extra.get("leader_before") or (seen[0]["leader"] if seen else None)
    res["leader_after"] = seen[-1]["leader"] if seen else None

    def tl(w):
        m = w["members"].get(w["leader"]) or {}
        return m.get("timeline")
    res["timeline_before"] = tl(seen[0]) if seen else None
    res["timeline_after"] = tl(seen[-1]) if seen else None
    leaders = []
    for w in seen:
        if not leaders or leaders[-1] != w["leader"]:
            leaders.append(w["leader"])
    res["leader_sequence"] = leaders
    # New leader: counted from the moment writes stopped (the start of the longest gap of the
    # main path) when that came after the fault, since the controller's fault time also holds
    # Ansible's own overhead (a switchover module call takes seconds before its POST).
    res["new_leader_after_s"] = None
    new_leader_t = None
    outage_start = None
    if fault:
        ts = [a["t"] for a in acks if a["path"] == main]
        if ts:
            gap, at = longest_gap(ts, min(ts), max(ts))
            outage_start = at if at >= fault - 1 else None
        for w in seen:
            if w["t"] >= fault and w["leader"] != res["leader_before"]:
                new_leader_t = w["t"]
                res["new_leader_after_s"] = round(w["t"] - (outage_start or fault), 3)
                break
    res["outage_started_s_after_fault"] = round(outage_start - fault, 3) if outage_start and fault else None
    # Rejoin: the broken member streams again after the heal (or the fault). The DCS may
    # still show the old "streaming" state for a moment, so when the watcher saw the
    # member down after the fault, only a later "streaming" counts.
    res["rejoin_s"] = None
    res["all_streaming_after_s"] = None
    ref = heal or new_leader_t or fault
    if target and ref:
        samples = [w for w in watch if w["t"] >= ref]
        went_down = next((i for i, w in enumerate(w2 for w2 in watch if w2["t"] >= fault)
                          if (w["members"].get(target) or {}).get("state") != "streaming"
                          and w.get("leader") != target), None) if fault else None
        for w in samples:
            m = w["members"].get(target) or {}
            if went_down is not None:
                down_t = [w2 for w2 in watch if w2["t"] >= fault][went_down]["t"]
                if w["t"] <= down_t:
                    continue
            if m.get("state") == "streaming":
                res["rejoin_s"] = round(w["t"] - ref, 3)
                break
        # The whole cluster back: a running leader and every other member streaming.
        for w in samples:
            ms = w["members"]
            if w.get("leader") and len(ms) == len(cfg["members"]) and all(
                    v.get("state") == "streaming" for k, v in ms.items() if k != w["leader"]):
                res["all_streaming_after_s"] = round(w["t"] - ref, 3)
                break
    res["run_seconds"] = round(end - started, 1) if started else None
    res["last_errors"] = [e["error"] for e in errors[-3:]]
    print(json.dumps(res, sort_keys=True))


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
