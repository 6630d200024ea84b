"""Drive Debian's chromium, headless, against the DBHub Workbench.

scripts/install_test_browser.sh installs it on the controller. Chromium's
own --dump-dom and --screenshot are enough here: --virtual-time-budget lets
the Workbench's JavaScript fetch /api/sources and render before the dump.
"""

import os
import shutil
import subprocess
import tempfile

FLAGS = [
    "--headless",
    "--no-sandbox",  # root in CI, no user namespaces
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the test may only talk to the lab
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--window-size=1400,900",
    "--virtual-time-budget=15000",
]


def chromium_path():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def run(url, *action, timeout=90):
    """Run chromium with a fresh profile; return its stdout."""
    with tempfile.TemporaryDirectory(prefix="pgha-chromium-") as profile:
        cmd = [chromium_path(), *FLAGS, "--user-data-dir=" + profile, *action, url]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError("chromium exited %d: %s" % (proc.returncode, proc.stderr[-2000:]))
    return proc.stdout


def dump_dom(url):
    return run(url, "--dump-dom")


def screenshot(url, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    run(url, "--screenshot=" + path)
    return path
