import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTailsBuilderScript } from '../../src/core/tails-box-definition.js';
import { TAILS_LIKE_SCRIPT } from '../helpers/tails-builder-script.js';

describe('parseTailsBuilderScript', () => {
  it("a script shaped like Tails 6.9's: every apt install step's packages in order, each once; shell variables are not packages", () => {
    const parsed = parseTailsBuilderScript(TAILS_LIKE_SCRIPT);
    assert.ok(parsed !== undefined);
    assert.deepEqual(parsed.packages, [
      'apt-cacher-ng',
      'ca-certificates',
      'dbus',
      'git',
      'grub2',
      'linux-image-amd64',
      'libimage-magick-perl',
      'po4a',
      'udisks2',
      'gir1.2-udisks-2.0',
    ]);
    const lines = TAILS_LIKE_SCRIPT.split('\n');
    const lineOf = (text: string, from = 0): number => lines.findIndex((l, i) => i >= from && l.trim() === text) + 1;
    const firstStep = lineOf('- apt: install');
    assert.deepEqual(
      parsed.steps.map((s) => ({ line: s.line, tag: s.tag, count: s.packages.length, recommends: s.recommends })),
      [
        { line: firstStep, tag: 'rootfs', count: 8, recommends: undefined },
        { line: lineOf('- apt: install', firstStep), tag: 'rootfs', count: 3, recommends: undefined },
      ],
    );
    assert.deepEqual(parsed.skipped, [
      { line: lineOf('- ${EXTRA}'), text: '${EXTRA}', reason: 'shell-substitution' },
      { line: lineOf('- linux-headers-${ARCH}'), text: 'linux-headers-${ARCH}', reason: 'shell-substitution' },
    ]);
    assert.ok(firstStep > 0 && parsed.skipped.every((e) => e.line > firstStep));
  });

  it('inline (flow) lists, on one line or several, with comments, quotes and a trailing comma', () => {
    const script = [
      "cat > spec.yml <<'END'",
      'steps:',
      '  - apt: install',
      '    packages: [sudo, "openssh-server", rsync]  # the basics',
      '    tag: rootfs',
      '    recommends: false',
      '  - apt: "install"',
      '    packages: [time,',
      '      wget, # fetches',
      "      'psmisc',",
      '    ]',
      '    fs-tag: root',
      'END',
    ].join('\n');
    const parsed = parseTailsBuilderScript(script);
    assert.deepEqual(parsed?.packages, ['sudo', 'openssh-server', 'rsync', 'time', 'wget', 'psmisc']);
    assert.deepEqual(parsed.steps.map((s) => [s.tag, s.recommends]), [['rootfs', false], ['root', undefined]]);
    assert.deepEqual(parsed.skipped, []);
  });

  it('a block list at the key\'s own column (YAML allows it), and names Debian\'s grammar refuses are skipped', () => {
    const script = [
      'cat <<-EOF > "$SPEC"',
      'steps:',
      '- apt: install',
      '  packages:',
      '  - make',
      '  - Make',
      '  - g++',
      '  - x',
      '  tag: rootfs',
      '\tEOF',
      'echo done',
    ].join('\n');
    const parsed = parseTailsBuilderScript(script);
    assert.deepEqual(parsed?.packages, ['make', 'g++']);
    assert.deepEqual(parsed.skipped.map((s) => [s.text, s.reason]), [['Make', 'not-a-package-name'], ['x', 'not-a-package-name']]);
  });

  it('a spec that is not in a heredoc (a YAML file of its own) is read as it is', () => {
    const parsed = parseTailsBuilderScript('steps:\n  - apt: install\n    packages:\n      - curl\n    tag: rootfs\n');
    assert.deepEqual(parsed?.packages, ['curl']);
  });

  it('text after the heredoc and other heredocs are not the spec', () => {
    const script = [
      'cat > a.txt <<EOF',
      '  - apt: install',
      '    packages: [first]',
      'EOF',
      'cat > b.txt << "EOF2"',
      '  - apt: install',
      '    packages: [second]',
      'EOF2',
      '  - apt: install',
      '    packages: [outside]',
    ].join('\n');
    assert.deepEqual(parseTailsBuilderScript(script)?.packages, ['first', 'second']);
  });

  it('no apt install step, or one naming no package: undefined (the caller falls back)', () => {
    assert.equal(parseTailsBuilderScript('#!/bin/sh\n'), undefined);
    assert.equal(parseTailsBuilderScript('cat > s <<EOF\nsteps:\n  - apt: upgrade\n    tag: rootfs\n  - chroot: rootfs\n    shell: apt-get install -y git\nEOF\n'), undefined);
    assert.equal(parseTailsBuilderScript('cat > s <<EOF\nsteps:\n  - apt: install\n    packages:\n      - ${PACKAGES}\n    tag: rootfs\nEOF\n'), undefined);
  });
});
