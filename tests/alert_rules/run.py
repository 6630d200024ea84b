#!/usr/bin/env python3
"""Lint tier: pgha's alert rules (roles/monitoring/files/rules) with promtool.

1. `promtool check rules` on every rule file (syntax, PromQL, templates).
2. Every alert carries a severity (critical or warning) and the annotations
   summary, description and a runbook naming a pgha playbook.
3. `promtool test rules` on every *.test.yml here. promtool compares
   annotations verbatim, so the tests run against copies of the rules
   without annotations (step 1 already checked their templates): the tests
   are about when an alert fires and with which labels.
4. Every alert has a case where it fires and one where it stays quiet.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, "..", "..", "roles", "monitoring", "files", "rules")


def main():
    promtool = shutil.which("promtool")
    if not promtool:
        sys.exit("promtool missing: apt-get install promtool (Debian 12: prometheus), as .ci/run does")
    files = sorted(glob.glob(os.path.join(RULES, "*.yml")))
    problems = []
    proc = subprocess.run([promtool, "check", "rules", *files], capture_output=True, text=True, check=False)
    if proc.returncode:
        problems.append("promtool check rules:\n" + proc.stdout + proc.stderr)
    alerts = {}
    with tempfile.TemporaryDirectory(prefix="pgha-rules-") as tmp:
        os.mkdir(os.path.join(tmp, "rules"))
        for f in files:
            doc = yaml.safe_load(open(f, encoding="utf-8"))
            for group in doc["groups"]:
                for rule in group["rules"]:
                    if "alert" not in rule:
                        continue
                    name = rule["alert"]
                    alerts[name] = {"fires": False, "quiet": False}
                    ann = rule.get("annotations", {})
                    if rule.get("labels", {}).get("severity") not in ("critical", "warning"):
                        problems.append("%s: severity must be critical or warning" % name)
                    for key in ("summary", "description", "runbook"):
                        if not ann.get(key):
                            problems.append("%s (%s): no %s annotation" % (name, os.path.basename(f), key))
                    if "pgha.cluster." not in ann.get("runbook", ""):
                        problems.append("%s: the runbook names no pgha playbook (pgha.cluster.<playbook>)" % name)
                    rule.pop("annotations", None)
            with open(os.path.join(tmp, "rules", os.path.basename(f)), "w", encoding="utf-8") as out:
                yaml.safe_dump(doc, out)
        for f in glob.glob(os.path.join(HERE, "*.yml")):
            shutil.copy(f, tmp)
        for test in sorted(glob.glob(os.path.join(HERE, "*.test.yml"))):
            proc = subprocess.run([promtool, "test", "rules", os.path.basename(test)], cwd=tmp,
                                  capture_output=True, text=True, check=False)
            if proc.returncode:
                problems.append("promtool test rules %s:\n%s%s" % (os.path.basename(test), proc.stdout, proc.stderr))
            for case in yaml.safe_load(open(test, encoding="utf-8"))["tests"]:
                for t in case.get("alert_rule_test", []):
                    seen = alerts.setdefault(t["alertname"], {"fires": False, "quiet": False, "unknown": True})
                    seen["fires" if t.get("exp_alerts") else "quiet"] = True
    for name, seen in sorted(alerts.items()):
        if seen.get("unknown"):
            problems.append("%s: tested but no rule defines it" % name)
        elif not (seen["fires"] and seen["quiet"]):
            problems.append("%s: needs a test case where it fires and one where it stays quiet" % name)
    if problems:
        sys.exit("\n".join(problems))
    print("alert rules: %d alerts in %d files checked and tested" % (len(alerts), len(files)))


if __name__ == "__main__":
    main()
