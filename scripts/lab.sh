#!/usr/bin/env bash
# The local lab: Docker containers with systemd described by inventories/lab.
#
#   scripts/lab.sh up       create/start the hosts and deploy the cluster (site.yml)
#   scripts/lab.sh hosts    create/start the hosts only
#   scripts/lab.sh stop     stop the containers (nothing is removed)
#   scripts/lab.sh down     remove the containers, keep the data volumes
#   scripts/lab.sh purge    remove the containers and their data volumes
#   scripts/lab.sh status   show the containers and the cluster members
#
# Extra arguments go to ansible-playbook (for example -v, or -e var=value).
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
cd "$PGHA_ROOT"

inventory=${PGHA_INVENTORY:-inventories/lab}
cmd=${1:-up}
shift || true

ensure_venv
case $cmd in
    up)
        ensure_docker; ensure_debootstrap
        ansible-playbook lab/up.yml -i "$inventory" "$@"
        ansible-playbook site.yml -i "$inventory" "$@"
        ;;
    hosts|start)
        ensure_docker; ensure_debootstrap
        ansible-playbook lab/up.yml -i "$inventory" "$@"
        ;;
    stop)
        ensure_docker
        ansible-playbook lab/stop.yml -i "$inventory" "$@"
        ;;
    down)
        ensure_docker
        ansible-playbook lab/down.yml -i "$inventory" "$@"
        say "containers removed; data volumes kept (scripts/lab.sh purge removes them)"
        ;;
    purge)
        ensure_docker
        ansible-playbook lab/down.yml -i "$inventory" -e pgha_lab_purge=true "$@"
        ;;
    status)
        ensure_docker
        docker ps -a --filter label=org.pgha.lab --format 'table {{.Names}}\t{{.Status}}\t{{.Ports}}'
        ;;
    *)
        die "unknown command '$cmd': use up, hosts, start, stop, down, purge or status"
        ;;
esac
