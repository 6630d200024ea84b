"""After the backup scenario's side effect: pgBackRest servers, timers and a
clean configuration on every host, and a repository reporting status ok."""

import json

import pytest

STANZA = "pgha"


def _is_repo(host):
    return host.backend.get_hostname().startswith("pgbackrest")


def _is_pg(host):
    return host.backend.get_hostname().startswith("pg-node")


def _relevant(host):
    if not (_is_repo(host) or _is_pg(host)):
        pytest.skip("no pgBackRest on this host")


def test_server_running(host):
    _relevant(host)
    assert host.service("pgbackrest").is_running
    assert host.service("pgbackrest").is_enabled
    assert host.socket("tcp://0.0.0.0:8432").is_listening or any(
        s.endswith(":8432") for s in host.socket.get_listening_sockets())


def test_config_accepted_without_warnings(host):
    """Every option of the shipped pgbackrest.conf is one pgBackRest accepts."""
    _relevant(host)
    user = "pgbackrest" if _is_repo(host) else "postgres"
    cmd = host.run(f"runuser -u {user} -- pgbackrest --stanza={STANZA} --log-level-console=warn --log-level-stderr=warn info")
    assert cmd.rc == 0, cmd.stderr
    assert "WARN" not in cmd.stdout + cmd.stderr
    logs = host.run("grep -h 'WARN:' /var/log/pgbackrest/*.log | grep -Ei 'option|config' || true")
    assert logs.stdout.strip() == ""


def test_timers(host):
    if not _is_repo(host):
        pytest.skip("timers live on the repository host")
    for kind in ("full", "incr"):
        timer = host.service(f"pgbackrest-backup-{kind}.timer")
        assert timer.is_enabled
        assert timer.is_running


def test_repository_ok(host):
    if not _is_repo(host):
        pytest.skip("repository host only")
    out = host.check_output(f"runuser -u pgbackrest -- pgbackrest --stanza={STANZA} --output=json info")
    stanza = json.loads(out)[0]
    assert stanza["status"]["code"] == 0
    assert any(b["type"] == "full" for b in stanza["backup"])
    # The restore made a new timeline; its full backup is in the repository.
    assert len({b["archive"]["start"][:8] for b in stanza["backup"]}) >= 2


def test_archiving_configured(host):
    if not _is_pg(host):
        pytest.skip("PostgreSQL nodes only")
    out = host.check_output(
        "runuser -u postgres -- psql -Atc \"SELECT current_setting('archive_mode') || ' ' || current_setting('archive_command')\"")
    assert out.startswith("on pgbackrest --stanza=pgha archive-push")
