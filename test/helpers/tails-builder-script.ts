/**
 * A script shaped like Tails 6.9's generate-tails-builder-box.sh (written for
 * this test): settings and serials read by shell, a keyring, then a vmdb2 spec
 * in an unquoted heredoc (so ${...} is the shell's), with two apt install
 * steps around a udevadm workaround, and steps whose text only looks like one.
 */
export const TAILS_LIKE_SCRIPT = `#!/bin/sh
set -eu

GIT_DIR="$(git rev-parse --show-toplevel)"
DISTRIBUTION="$(ruby -e "print 'bookworm'")"
DEBIAN_SERIAL="$(get_serial debian)"
KEYRING_DIR="$(mktemp -d)"
gpg --homedir "\${KEYRING_DIR}" --import config/chroot_sources/tails.chroot.gpg
EXTRA=""

cat > "\${SPECFILE}" <<EOF
steps:
  - mkimg: "{{ output }}"
    size: 20G

  - mount: rootfs

  - debootstrap: \${DISTRIBUTION}
    mirror: http://time-based.snapshots.deb.tails.boum.org/debian/\${DEBIAN_SERIAL}
    keyring: \${KEYRING_DIR}/pubring.kbx
    target: rootfs

  - create-file: /etc/apt/apt.conf.d/99recommends
    contents: |
      APT::Install-Recommends "false";
      packages:
        - not-a-step-package

  - chroot: rootfs
    shell: |
      apt-get install -y shell-installed-package

  - apt: install
    packages:
      - apt-cacher-ng
      - ca-certificates
      # dbus: for timedatectl
      - dbus
      - git   # the build clones with it
      - grub2
      - "linux-image-amd64"
      - \${EXTRA}
      - linux-headers-\${ARCH}
      - libimage-magick-perl
      - po4a
    tag: rootfs

  # <workaround for a udisks2 bug>
  - chroot: rootfs
    shell: mv /bin/udevadm /bin/udevadm.orig

  - apt: install
    tag: rootfs
    packages:
      - udisks2
      - gir1.2-udisks-2.0
      - git

  - chroot: rootfs
    shell: mv /bin/udevadm.orig /bin/udevadm
  # </workaround>

  - grub: bios
    tag: rootfs
    console: serial
EOF

sudo vmdb2 "\${SPECFILE}" --output x.img
`;
