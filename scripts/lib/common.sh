# Shared by the scripts in scripts/: the repository root, the virtualenv and
# one-line errors that name the fix. Source it; do not run it.
PGHA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PGHA_VENV=${PGHA_VENV:-$PGHA_ROOT/.venv}
export ANSIBLE_CONFIG=$PGHA_ROOT/ansible.cfg

die() { echo "pgha: $*" >&2; exit 1; }
say() { echo "pgha: $*" >&2; }

# Create the virtualenv, or refresh it when requirements.txt changed.
ensure_venv() {
    local stamp=$PGHA_VENV/.requirements.sha256 want
    want=$(sha256sum "$PGHA_ROOT/requirements.txt" | cut -d' ' -f1)
    if [ ! -x "$PGHA_VENV/bin/python" ]; then
        command -v python3 >/dev/null || die "python3 not found: install Python 3.11 or newer"
        python3 -m venv "$PGHA_VENV" || die "cannot create $PGHA_VENV (Debian: apt-get install python3-venv)"
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing controller packages into $PGHA_VENV (requirements.txt)"
        "$PGHA_VENV/bin/pip" install -q -r "$PGHA_ROOT/requirements.txt" \
            || die "pip install -r requirements.txt failed (see the output above)"
        echo "$want" > "$stamp"
    fi
    # shellcheck disable=SC1091
    . "$PGHA_VENV/bin/activate"
}

# Fail in one line when Docker cannot be used, naming the fix.
ensure_docker() {
    command -v docker >/dev/null \
        || die "no docker client: install Docker Engine (Debian: apt-get install docker.io)"
    local out
    if ! out=$(docker info 2>&1 >/dev/null); then
        case $out in
            *"permission denied"*)
                die "no permission on the Docker socket: run as root or join the docker group (usermod -aG docker \$USER, then log in again)" ;;
            *"Cannot connect"*|*"Is the docker daemon running"*|*"No such file"*)
                die "the Docker engine is not running: start it (systemctl start docker, or dockerd & where there is no systemd)" ;;
            *)
                die "docker info failed: $(echo "$out" | head -n1)" ;;
        esac
    fi
}

# debootstrap builds the lab image unless a pulled base image is named.
ensure_debootstrap() {
    [ -n "${PGHA_LAB_BASE_IMAGE:-}" ] && return 0
    command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] \
        || die "debootstrap not found: install it (apt-get install debootstrap) or set PGHA_LAB_BASE_IMAGE to a pulled systemd image"
}
