#!/bin/sh
# Customizes the builder box's root tree; run by mmdebstrap as a customize hook:
#   customize.sh ROOTDIR
# Environment (set by `tails-build basebox create`):
#   SOURCE_DATE_EPOCH   every timestamp the hook causes (mmdebstrap sets it too)
#   TB_DEFINITION_DIR   this directory (vagrant-insecure.pub lives here)
#   TB_ROOT_UUID        the root filesystem UUID (fixed per box: fstab, grub.cfg)
#   TB_APT_SOURCES      a deb822 sources file pointing at the frozen snapshots, as the VM sees them
#   TB_HOSTNAME         the guest's hostname
#   TB_KERNEL_CMDLINE   the kernel command line (grub.cfg; the box boots it directly too)
# Everything here must be deterministic: the box is bit-for-bit reproducible.
set -eu

root=$1
: "${SOURCE_DATE_EPOCH:?}" "${TB_DEFINITION_DIR:?}" "${TB_ROOT_UUID:?}" "${TB_APT_SOURCES:?}" "${TB_HOSTNAME:?}" "${TB_KERNEL_CMDLINE:?}"

in_root() { chroot "$root" "$@"; }

write() { # write PATH MODE < content
	install -m "$2" /dev/stdin "$root$1"
}

# --- identity and name resolution -------------------------------------------
printf '%s\n' "$TB_HOSTNAME" | write /etc/hostname 0644
write /etc/hosts 0644 <<HOSTS
127.0.0.1	localhost
127.0.1.1	$TB_HOSTNAME
::1	localhost ip6-localhost ip6-loopback
HOSTS
# systemd-resolved owns resolv.conf; never keep the host's.
ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
# An empty machine-id is generated at first boot (not baked in).
: | write /etc/machine-id 0444

# --- network: DHCP on the first NIC, a lease that does not depend on machine-id
mkdir -p "$root/etc/systemd/network"
write /etc/systemd/network/10-dhcp.network 0644 <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
IPv6AcceptRA=no

[DHCPv4]
ClientIdentifier=mac
NET
in_root systemctl enable systemd-networkd.service systemd-resolved.service

# --- filesystems -------------------------------------------------------------
# fsck pass 0: every build VM's root is a fresh overlay of this image, never
# a disk that was shut down uncleanly (systemd-fsck-root was on the boot's
# critical path). 9p, 9pnet_virtio and loop load on demand (mount -t 9p, the
# virtio device's modalias, /dev/loop-control): no systemd-modules-load
# before sysinit.target.
write /etc/fstab 0644 <<FSTAB
UUID=$TB_ROOT_UUID	/	ext4	errors=remount-ro	0	0
FSTAB

# --- boot: only what a throwaway build VM needs ------------------------------
# Measured in a build VM under TCG (systemd-analyze blame, critical-chain):
# e2scrub_reap, random-seed and the journal flush ran before sysinit.target.
# The journal stays in RAM (the VM is destroyed; its serial log is kept), the
# kernel's RNG is seeded by the kernel itself (Linux >= 5.18 jitter entropy),
# and nothing here waits for network-online.target.
in_root systemctl mask e2scrub_reap.service e2scrub_all.timer fstrim.timer \
	systemd-random-seed.service systemd-networkd-wait-online.service >/dev/null 2>&1
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' | write /etc/systemd/journald.conf.d/tails-build.conf 0644

# --- the vagrant user: Vagrant's well-known insecure key, passwordless sudo ---
in_root useradd --create-home --shell /bin/bash --user-group vagrant
in_root usermod --password '*' vagrant
install -d -m 0700 "$root/home/vagrant/.ssh"
install -m 0600 "$TB_DEFINITION_DIR/vagrant-insecure.pub" "$root/home/vagrant/.ssh/authorized_keys"
in_root chown -R vagrant:vagrant /home/vagrant/.ssh
printf 'vagrant ALL=(ALL) NOPASSWD:ALL\n' | write /etc/sudoers.d/vagrant 0440

# --- sshd: host keys are made at first boot, never baked into the box ---------
# Ed25519 and ECDSA only: an RSA key took seconds of ssh-keygen under TCG, on
# the path to the first ssh login of every build VM.
rm -f "$root"/etc/ssh/ssh_host_*
write /etc/systemd/system/ssh-host-keys.service 0644 <<'UNIT'
[Unit]
Description=Generate SSH host keys on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
ExecStart=/usr/bin/ssh-keygen -q -t ecdsa -N "" -f /etc/ssh/ssh_host_ecdsa_key

[Install]
WantedBy=multi-user.target
UNIT
# Debian's ssh.service, ordered after ssh-host-keys.service instead of
# network.target: sshd listens on the wildcard address, and network.target
# waits for systemd-resolved (seconds under TCG). A unit in /etc replaces the
# package's (a drop-in cannot take an After= away); the package's enable
# links, which point at its own unit, are made again for this one.
rm -f "$root/etc/systemd/system/sshd.service" "$root/etc/systemd/system/multi-user.target.wants/ssh.service"
write /etc/systemd/system/ssh.service 0644 <<'UNIT'
[Unit]
Description=OpenBSD Secure Shell server
Documentation=man:sshd(8) man:sshd_config(5)
After=ssh-host-keys.service
ConditionPathExists=!/etc/ssh/sshd_not_to_be_run

[Service]
EnvironmentFile=-/etc/default/ssh
ExecStart=/usr/sbin/sshd -D $SSHD_OPTS
ExecReload=/usr/sbin/sshd -t
ExecReload=/bin/kill -HUP $MAINPID
KillMode=process
Restart=on-failure
RestartPreventExitStatus=255
Type=notify
RuntimeDirectory=sshd
RuntimeDirectoryMode=0755

[Install]
WantedBy=multi-user.target
Alias=sshd.service
UNIT
in_root systemctl enable ssh-host-keys.service ssh.service
printf 'UseDNS no\nHostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n' | write /etc/ssh/sshd_config.d/tails-build.conf 0644

# --- apt: the same frozen snapshots, no background jobs -----------------------
rm -f "$root/etc/apt/sources.list"
write /etc/apt/sources.list.d/snapshots.sources 0644 < "$TB_APT_SOURCES"
write /etc/apt/apt.conf.d/90tails-build 0644 <<'APT'
Acquire::Check-Valid-Until "false";
Acquire::Retries "20";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Periodic::Enable "0";
APT
in_root systemctl mask apt-daily.timer apt-daily-upgrade.timer
# apt-cacher-ng is started only for builds that use the in-VM proxy.
in_root systemctl disable apt-cacher-ng.service
# Kernel and bootloader upgrades inside the builder broke builds (Tails #19290).
in_root apt-mark hold linux-image-amd64 grub-pc-bin grub-common >/dev/null

# --- initramfs: only what mounts a build VM's root ---------------------------
# MODULES=most made a 36 MB initrd, which GRUB reads through the BIOS and the
# kernel unpacks, both slow under TCG. A build VM's root is ext4 on virtio-blk;
# virtio_rng (the VM's virtio-rng device) initialises the kernel's crng before
# the real root's systemd-networkd and systemd-resolved ask for random bytes.
printf 'MODULES=list\n' | write /etc/initramfs-tools/conf.d/tails-build.conf 0644
printf 'virtio_pci\nvirtio_blk\next4\nvirtio_rng\n' | write /etc/initramfs-tools/modules 0644
in_root update-initramfs -u -k all >/dev/null

# --- boot: GRUB core image and config; the host embeds core.img in the MBR gap -
mkdir -p "$root/boot/grub/i386-pc"
cp "$root"/usr/lib/grub/i386-pc/*.mod "$root"/usr/lib/grub/i386-pc/*.lst "$root/boot/grub/i386-pc/"
cp "$root/usr/lib/grub/i386-pc/boot.img" "$root/boot/grub/i386-pc/boot.img"
in_root grub-mkimage --format=i386-pc --output=/boot/grub/i386-pc/core.img \
	--prefix='(hd0,msdos1)/boot/grub' biosdisk part_msdos ext2
write /boot/grub/grub.cfg 0644 <<GRUB
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry 'tails-builder' {
	search --no-floppy --fs-uuid --set=root $TB_ROOT_UUID
	linux /vmlinuz $TB_KERNEL_CMDLINE
	initrd /initrd.img
}
GRUB

# --- leftovers that differ between runs --------------------------------------
rm -rf "$root"/var/log/apt/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
