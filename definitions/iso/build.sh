#!/bin/bash
# Builds the tails-build sample live ISO: a tiny Debian live system (busybox
# userland on a squashfs, the Debian kernel, a hand-made busybox initramfs
# that finds the medium on IDE, AHCI or USB, GRUB for BIOS) that prints a boot marker naming its commit on the
# serial console and powers off.
#
# Run by `tails-build iso` in the build VM, from the root of a fresh clone at
# the commit being built, as a user with passwordless sudo (or as root): the
# root filesystem is unpacked and squashed as root so that package owners and
# modes are kept. Everything in the image comes from the pinned ISO snapshots.
#
# Environment (see definitions/README.md):
#   ARTIFACTS_DIR, GIT_COMMIT, GIT_REF              required
#   TAILS_BUILD_SNAPSHOTS, TAILS_BUILD_ISO_SERIALS  required: where the snapshots
#                                                   are, and which serials
#   TAILS_BUILD_BOX, TAILS_BUILD_BUILDER_SECURITY_SERIAL
#                                                   recorded in the manifest
#   SOURCE_DATE_EPOCH        default: the committer time of HEAD
#   TAILS_BUILD_CODENAME     default bookworm
#   TAILS_BUILD_ARCH         default amd64 (the only one supported)
#   TAILS_BUILD_COMPRESSION  fast (squashfs zstd level 3, default) or default (xz)
#   TAILS_BUILD_TMP          scratch space (may be a tmpfs); default: a mktemp dir
# Artifacts, NAME=tails-build-sample-<arch>-<commit:12>: NAME.iso, NAME.packages,
# NAME.apt-sources, NAME.build-manifest. Same commit + same serials + same
# build tools = bit-identical artifacts.
#
# Every stage prints "[recipe] <stage>: start at <s>s" and
# "[recipe] <stage>: done in <s>s (at <s>s)", times since the recipe started.
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC

recipe_dir=$(cd "${BASH_SOURCE[0]%/*}" && pwd)

# --- timing ------------------------------------------------------------------
usec() { local t=${EPOCHREALTIME/./}; printf '%s' "$((10#$t))"; }
secs() { printf '%d.%03d' "$(($1 / 1000000))" "$(($1 % 1000000 / 1000))"; }
recipe_t0=$(usec)
stage_name=
stage_t0=0
stage_end() {
	[[ -n $stage_name ]] || return 0
	local now
	now=$(usec)
	printf '[recipe] %s: done in %ss (at %ss)\n' "$stage_name" "$(secs $((now - stage_t0)))" "$(secs $((now - recipe_t0)))"
	stage_name=
}
stage() {
	stage_end
	stage_name=$1
	stage_t0=$(usec)
	printf '[recipe] %s: start at %ss\n' "$stage_name" "$(secs $((stage_t0 - recipe_t0)))"
}
die() { printf '[recipe] error: %s\n' "$*" >&2; exit 1; }
# read_list FILE ARRAY: one word a line into ARRAY; '#' comments and blank lines skipped.
read_list() {
	local -n into=$2
	local line
	while read -r line; do
		line=${line%%#*}
		line=${line//[[:space:]]/}
		[[ -z $line ]] || into+=("$line")
	done <"$1"
}

stage setup

# --- the environment contract ------------------------------------------------
: "${ARTIFACTS_DIR:?}" "${GIT_COMMIT:?}" "${GIT_REF:?}"
: "${TAILS_BUILD_SNAPSHOTS:?}" "${TAILS_BUILD_ISO_SERIALS:?}"
: "${TAILS_BUILD_BOX:=}" "${TAILS_BUILD_BUILDER_SECURITY_SERIAL:=}"
codename=${TAILS_BUILD_CODENAME:-bookworm}
arch=${TAILS_BUILD_ARCH:-amd64}
compression=${TAILS_BUILD_COMPRESSION:-fast}
[[ $GIT_COMMIT =~ ^[0-9a-f]{40}$ ]] || die "GIT_COMMIT is not a full commit id: $GIT_COMMIT"
[[ $arch == amd64 ]] || die "only amd64 is supported (BIOS GRUB, the Debian amd64 kernel), not $arch"
[[ -d $ARTIFACTS_DIR ]] || die "ARTIFACTS_DIR $ARTIFACTS_DIR does not exist"
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
fi
[[ $SOURCE_DATE_EPOCH =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH is not a number: $SOURCE_DATE_EPOCH"
export SOURCE_DATE_EPOCH
case $compression in
	fast) squashfs_comp=(-comp zstd -Xcompression-level 3); compression_desc='squashfs zstd level 3' ;;
	default) squashfs_comp=(-comp xz -Xbcj x86 -b 1M -Xdict-size 1M); compression_desc='squashfs xz (bcj x86, 1 MiB blocks)' ;;
	*) die "TAILS_BUILD_COMPRESSION must be fast or default, not $compression" ;;
esac

base_url=${TAILS_BUILD_SNAPSHOTS%/}/
declare -A serial=()
for pair in $TAILS_BUILD_ISO_SERIALS; do
	[[ $pair =~ ^([a-z0-9.-]+)=([0-9]+)$ ]] || die "bad TAILS_BUILD_ISO_SERIALS entry: $pair"
	serial[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
done
# archive -> its suites; only these archives, each with exactly its given serial.
declare -A suites=([debian]="$codename $codename-updates" [debian-security]="$codename-security")
for archive in "${!serial[@]}"; do
	[[ -v "suites[$archive]" ]] || die "unknown archive in TAILS_BUILD_ISO_SERIALS: $archive"
done
archives=(debian debian-security)
for archive in "${archives[@]}"; do
	[[ -v "serial[$archive]" ]] || die "TAILS_BUILD_ISO_SERIALS has no serial for $archive"
done

name=tails-build-sample-$arch-${GIT_COMMIT:0:12}
date_iso=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S00)

# Root for unpacking and squashing (owners, modes); the rest runs as the caller.
if ((EUID == 0)); then
	as_root() { "$@"; }
else
	as_root() { sudo -n -- "$@"; }
	sudo -n true || die "passwordless sudo is needed"
fi

# --- scratch space -----------------------------------------------------------
if [[ -n ${TAILS_BUILD_TMP:-} ]]; then
	scratch_owned=
	work=$TAILS_BUILD_TMP/tails-build-iso
	[[ $work == /* ]] || work=$PWD/$work
	[[ ! -e $work ]] || as_root rm -rf -- "$work"
	mkdir -p -- "$work"
else
	scratch_owned=$(mktemp -d)
	work=$scratch_owned/tails-build-iso
	mkdir -- "$work"
fi
cleanup() {
	as_root rm -rf -- "$work" || true
	[[ -z $scratch_owned ]] || rmdir -- "$scratch_owned" || true
}
trap cleanup EXIT
apt_dir=$work/apt debs=$work/debs rootfs=$work/rootfs kernel=$work/kernel
initramfs=$work/initramfs isodir=$work/iso
mkdir -p "$apt_dir/empty.d" "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/cache" "$debs" \
	"$kernel" "$initramfs" "$isodir/live" "$isodir/boot/grub" "$work/tmp"
export TMPDIR=$work/tmp

# --- apt: the system's config (proxy), our own sources, lists and caches -----
sources=$apt_dir/sources.list
for archive in "${archives[@]}"; do
	for suite in ${suites[$archive]}; do
		printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s%s/%s %s main\n' \
			"$base_url" "$archive" "${serial[$archive]}" "$suite"
	done
done >"$sources"
: >"$apt_dir/status"
apt_opts=(
	-o "Dir::Etc::SourceList=$sources" -o "Dir::Etc::SourceParts=$apt_dir/empty.d"
	-o "Dir::Etc::Preferences=$apt_dir/preferences" -o "Dir::Etc::PreferencesParts=$apt_dir/empty.d"
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status"
	-o "Dir::Cache=$apt_dir/cache" -o "Dir::Cache::Archives=$apt_dir/archives"
	-o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false -o Acquire::Languages=none
	-o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
	-o APT::Get::AllowUnauthenticated=false
)
# apt as root would drop to _apt, which cannot enter the (private) scratch dir.
((EUID != 0)) || apt_opts+=(-o APT::Sandbox::User=root)

stage apt-update
apt-get "${apt_opts[@]}" -q update

stage download
packages=()
read_list "$recipe_dir/packages" packages
# The generic kernel, not the cloud one: the cloud kernel has no AHCI and no
# USB, so its initramfs could find the medium only on QEMU's pc machine (IDE).
kernel_meta=linux-image-$arch
kernel_dep=$(apt-cache "${apt_opts[@]}" show --no-all-versions "$kernel_meta" | sed -n 's/^Depends: //p')
[[ $kernel_dep =~ ^(linux-image-[^ ]+)\ \(=\ ([^ ]+)\)$ ]] || die "unexpected Depends of $kernel_meta: $kernel_dep"
kernel_pkg=${BASH_REMATCH[1]} kernel_version=${BASH_REMATCH[2]}
kernel_release=${kernel_pkg#linux-image-}
(cd "$debs" && apt-get "${apt_opts[@]}" -q download "${packages[@]}" "$kernel_pkg=$kernel_version")
deb_of() { # deb_of PACKAGE: the one .deb downloaded for it
	local f=("$debs/$1"_*.deb)
	if ((${#f[@]} != 1)) || [[ ! -f ${f[0]} ]]; then die "no single .deb for $1"; fi
	printf '%s' "${f[0]}"
}

# --- root filesystem: merged /usr, the packages unpacked in listed order -----
stage rootfs
as_root mkdir -m 0755 "$rootfs" "$rootfs/usr" "$rootfs/usr/bin" "$rootfs/usr/sbin" "$rootfs/usr/lib"
as_root ln -s usr/bin "$rootfs/bin"
as_root ln -s usr/sbin "$rootfs/sbin"
as_root ln -s usr/lib "$rootfs/lib"
for pkg in "${packages[@]}"; do
	dpkg-deb --fsys-tarfile "$(deb_of "$pkg")" |
		as_root tar -x -C "$rootfs" --numeric-owner --same-owner --same-permissions --keep-directory-symlink
done
# What base-passwd's maintainer scripts would create.
as_root install -m 0644 "$rootfs/usr/share/base-passwd/passwd.master" "$rootfs/etc/passwd"
as_root install -m 0644 "$rootfs/usr/share/base-passwd/group.master" "$rootfs/etc/group"
as_root install -m 0644 "$recipe_dir/inittab" "$rootfs/etc/inittab"
as_root install -d -m 0755 "$rootfs/etc/init.d"
as_root install -m 0755 "$recipe_dir/rcS" "$rootfs/etc/init.d/rcS"
printf '%s\n' "$GIT_COMMIT" | as_root install -m 0644 /dev/stdin "$rootfs/etc/tails-build-commit"
# Directories and what the recipe wrote carry SOURCE_DATE_EPOCH, whatever the
# clock says; package files keep their own times (mksquashfs clamps later ones).
as_root find "$rootfs" \( -type d -o -newermt "@$SOURCE_DATE_EPOCH" \) \
	-exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
as_root touch -h -d "@$SOURCE_DATE_EPOCH" "$rootfs/bin" "$rootfs/sbin" "$rootfs/lib" \
	"$rootfs/etc/passwd" "$rootfs/etc/group" "$rootfs/etc/inittab" "$rootfs/etc/init.d/rcS" \
	"$rootfs/etc/tails-build-commit"
# busybox's applet links, made by mksquashfs from pseudo definitions: no
# fork per link, and no `busybox --install`, which links to its own host path.
"$rootfs/usr/bin/busybox" true || die "cannot run busybox from $rootfs (is $work on a noexec mount?)"
declare -A applet_seen=()
pseudo=$work/busybox-links.pseudo
while read -r path; do
	case $path in
		bin/*) path=usr/$path ;;
		sbin/*) path=usr/$path ;;
		usr/bin/* | usr/sbin/*) ;;
		*) continue ;;
	esac
	[[ ! -e $rootfs/$path && ! -L $rootfs/$path && ! -v "applet_seen[$path]" ]] || continue
	applet_seen[$path]=1
	printf '%s S %s 0777 0 0 /bin/busybox\n' "$path" "$SOURCE_DATE_EPOCH"
done < <("$rootfs/usr/bin/busybox" --list-full | sort) >"$pseudo"
((${#applet_seen[@]} > 100)) || die "busybox lists too few applets"

# --- kernel: vmlinuz and the initramfs modules from the Debian kernel --------
stage kernel
modules=()
read_list "$recipe_dir/modules" modules
members=("./boot/vmlinuz-$kernel_release")
for m in "${modules[@]}"; do members+=("./lib/modules/$kernel_release/kernel/$m.ko"); done
dpkg-deb --fsys-tarfile "$(deb_of "$kernel_pkg")" | tar -x -C "$kernel" "${members[@]}"
# Check the load order against the modules' own `depends=`.
declare -A module_loaded=()
module_deps=$(cd "$kernel/lib/modules/$kernel_release/kernel" &&
	grep -a -o -H 'depends=[[:alnum:]_,-]*' "${modules[@]/%/.ko}")
declare -A depends_of=()
while IFS= read -r line; do
	depends_of[${line%%.ko:*}]=${line#*:depends=}
done <<<"$module_deps"
for m in "${modules[@]}"; do
	IFS=, read -r -a deps <<<"${depends_of[$m]:-}"
	for d in "${deps[@]}"; do
		[[ -v "module_loaded[$d]" ]] || die "module ${m##*/} needs $d, which is not loaded before it (see $recipe_dir/modules)"
	done
	module_loaded[${m##*/}]=1
done
install -m 0644 "$kernel/boot/vmlinuz-$kernel_release" "$isodir/live/vmlinuz"

# --- initramfs: busybox, the modules, /init; uncompressed newc cpio ----------
stage initramfs
mkdir -p "$initramfs/bin" "$initramfs/dev" "$initramfs/proc" "$initramfs/sys" "$initramfs/run" \
	"$initramfs/newroot" "$initramfs/lib/modules"
install -m 0755 "$rootfs/usr/bin/busybox" "$initramfs/bin/busybox"
install -m 0755 "$recipe_dir/init" "$initramfs/init"
for m in "${modules[@]}"; do
	printf '%s\n' "${m##*/}"
done >"$initramfs/lib/modules/load-order"
for m in "${modules[@]}"; do
	printf '%s\n' "$kernel/lib/modules/$kernel_release/kernel/$m.ko"
done | xargs -d '\n' install -m 0644 -t "$initramfs/lib/modules"
(
	cd "$initramfs"
	find . -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	find . -print | sort | cpio --quiet -o -H newc -R 0:0 --reproducible
) >"$isodir/live/initrd.img"

# --- squashfs ---------------------------------------------------------------
stage squashfs
as_root env SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" mksquashfs "$rootfs" "$isodir/live/filesystem.squashfs" \
	-noappend -no-progress -quiet -no-xattrs -no-exports "${squashfs_comp[@]}" -pf "$pseudo"

# --- ISO ---------------------------------------------------------------------
stage iso
install -m 0644 "$recipe_dir/grub.cfg" "$isodir/boot/grub/grub.cfg"
grub-mkrescue --locales= --themes= --fonts= -o "$ARTIFACTS_DIR/$name.iso" "$isodir" \
	-V TAILS_BUILD_SAMPLE --modification-date="$date_iso" --set_all_file_dates "$date_iso"

# --- package list, apt sources, manifest -------------------------------------
stage manifest
for pkg in "${packages[@]}" "$kernel_pkg"; do
	# shellcheck disable=SC2016 # dpkg-deb's format, not the shell's
	dpkg-deb --show --showformat='${Package}\t${Version}\n' "$(deb_of "$pkg")"
done | sort >"$ARTIFACTS_DIR/$name.packages"
cp "$sources" "$ARTIFACTS_DIR/$name.apt-sources"

yaml() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; } # a single-quoted YAML scalar
files=("$name.iso" "$name.packages" "$name.apt-sources")
mapfile -t sums < <(cd "$ARTIFACTS_DIR" && sha256sum -- "${files[@]}")
mapfile -t sizes < <(cd "$ARTIFACTS_DIR" && stat -c %s -- "${files[@]}")
{
	printf '# tails-build sample live ISO: what was built, from what\n'
	printf 'name: %s\n' "$(yaml "$name")"
	printf 'commit: %s\n' "$(yaml "$GIT_COMMIT")"
	printf 'ref: %s\n' "$(yaml "$GIT_REF")"
	printf 'source_date_epoch: %s\n' "$SOURCE_DATE_EPOCH"
	printf 'codename: %s\n' "$(yaml "$codename")"
	printf 'arch: %s\n' "$(yaml "$arch")"
	printf 'box: %s\n' "$(yaml "$TAILS_BUILD_BOX")"
	printf 'builder_debian_security_serial: %s\n' "$(yaml "$TAILS_BUILD_BUILDER_SECURITY_SERIAL")"
	printf 'compression: %s\n' "$(yaml "$compression")"
	printf 'squashfs_compression: %s\n' "$(yaml "$compression_desc")"
	printf 'kernel: %s\n' "$(yaml "$kernel_pkg $kernel_version")"
	printf 'apt_snapshots:\n'
	for archive in "${archives[@]}"; do
		printf '  %s:\n' "$archive"
		printf '    serial: %s\n' "$(yaml "${serial[$archive]}")"
		printf '    url: %s\n' "$(yaml "$base_url$archive/${serial[$archive]}/")"
	done
	printf 'artifacts:\n'
	for i in "${!files[@]}"; do
		printf '  %s:\n' "$(yaml "${files[$i]}")"
		printf '    sha256: %s\n' "${sums[$i]%% *}"
		printf '    size: %s\n' "${sizes[$i]}"
	done
} >"$ARTIFACTS_DIR/$name.build-manifest"

stage_end
printf '[recipe] built %s in %ss\n' "$name" "$(secs $(($(usec) - recipe_t0)))"
