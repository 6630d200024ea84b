#!/usr/bin/env bash
# Build the lab's systemd-capable Debian image when it is absent.
#
# The tag carries a hash of this recipe, so editing the recipe (or the suite,
# mirror or package list) builds a new image while an unchanged recipe reuses
# the existing one. Prints the image reference on stdout and nothing else.
#
# Environment:
#   PGHA_LAB_SUITE        Debian suite (default: forky)
#   PGHA_LAB_MIRROR       apt mirror (default: http://deb.debian.org/debian)
#   PGHA_LAB_BASE_IMAGE   use this pulled image instead of debootstrap (it must
#                         already carry systemd and python3)
#   PGHA_LAB_BUILD_LOG    where the build log goes (default: .lab/image-build.log)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
suite=${PGHA_LAB_SUITE:-forky}
mirror=${PGHA_LAB_MIRROR:-http://deb.debian.org/debian}
base_image=${PGHA_LAB_BASE_IMAGE:-}
log=${PGHA_LAB_BUILD_LOG:-$root/.lab/image-build.log}
# A normal server's basics: the roles must not depend on anything a minbase
# image lacks (dbus for hostnamectl, python3-apt for package facts), and an
# SSH server with sudo, as a real host is reached.
packages=systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,iproute2,procps,nftables,iputils-ping,less,sudo,locales,gnupg,openssh-server

die() { echo "pgha lab image: $*" >&2; exit 1; }

recipe_hash=$( { cat "$0" "$here/pgha-lab-init"; echo "$suite $mirror $base_image $packages"; } | sha256sum | cut -c1-12)
image="pgha-lab:${suite}-${recipe_hash}"

command -v docker >/dev/null || die "docker client not found: install docker (Debian: apt-get install docker.io)"
if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    exit 0
fi

mkdir -p "$(dirname "$log")"
: > "$log"
work=$(mktemp -d "${TMPDIR:-/var/tmp}/pgha-lab-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ -n "$base_image" ]; then
    # A pulled base (where a registry is reachable): add only our entry script.
    cp "$here/pgha-lab-init" "$work/"
    cat > "$work/Dockerfile" <<DOCKERFILE
FROM $base_image
COPY pgha-lab-init /usr/local/sbin/pgha-lab-init
STOPSIGNAL SIGRTMIN+3
CMD ["/usr/local/sbin/pgha-lab-init"]
DOCKERFILE
    docker build -t "$image" --label org.pgha.lab=image "$work" >>"$log" 2>&1 \
        || die "image build from $base_image failed; see $log"
    echo "$image"
    exit 0
fi

command -v debootstrap >/dev/null \
    || die "debootstrap not found: install it (Debian/Ubuntu: apt-get install debootstrap) or set PGHA_LAB_BASE_IMAGE"
[ "$(id -u)" = 0 ] || die "debootstrap needs root: run as root (or with sudo), or set PGHA_LAB_BASE_IMAGE"

script=/usr/share/debootstrap/scripts/$suite
# Older debootstrap releases do not know the newest testing suite by name;
# every current suite bootstraps with the sid script.
[ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid

echo "building $image from $mirror ($suite), log: $log" >&2
rootfs="$work/rootfs"
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" "$script" >>"$log" 2>&1 \
    || die "debootstrap of $suite from $mirror failed; see $log"

# The mirror may be a snapshot whose Release file is past Valid-Until.
echo 'Acquire::Check-Valid-Until "false";' > "$rootfs/etc/apt/apt.conf.d/99pgha-lab-snapshot"
printf 'deb %s %s main\n' "$mirror" "$suite" > "$rootfs/etc/apt/sources.list"
install -m 0755 "$here/pgha-lab-init" "$rootfs/usr/local/sbin/pgha-lab-init"
# Containers have no consoles or hardware; these units only fail or wait there.
for unit in getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
            systemd-firstboot.service systemd-remount-fs.service sys-kernel-debug.mount \
            systemd-networkd-wait-online.service systemd-ask-password-console.path \
            systemd-ask-password-wall.path; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
# Every container makes its own SSH host keys on its first boot: keys baked
# into the image would be one key for every host.
rm -f "$rootfs"/etc/ssh/ssh_host_*
mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
cat > "$rootfs/etc/systemd/system/ssh.service.d/pgha-lab-host-keys.conf" <<'UNIT'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
UNIT
echo 'en_US.UTF-8 UTF-8' > "$rootfs/etc/locale.gen"
chroot "$rootfs" locale-gen >>"$log" 2>&1 || true
: > "$rootfs/etc/machine-id"
# Keep the package lists debootstrap fetched: a server has them, and an empty
# list directory with a fresh timestamp makes `apt cache_valid_time` skip the
# update that would fill it.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb

# docker import of older engines takes no STOPSIGNAL: the lab sets stop_signal per container.
tar -C "$rootfs" -c . | docker import \
    --change 'CMD ["/usr/local/sbin/pgha-lab-init"]' \
    --change 'ENV container=docker' \
    --change 'LABEL org.pgha.lab=image' \
    - "$image" >>"$log" 2>&1 || die "docker import failed; see $log"
echo "$image"
