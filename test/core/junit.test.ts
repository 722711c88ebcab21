/** JUnit reports, read back by a real XML parser (fast-xml-parser), as Jenkins' junit step would. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { SyntaxValidator } from 'fast-xml-validator';
import { UserError } from '../../src/core/errors.js';
import { renderJUnit, suiteFromSteps, xmlText, type StepOutcome } from '../../src/core/junit.js';

interface Parsed {
  testsuites: { '@_tests': string; '@_failures': string; testsuite: { '@_name': string; '@_failures': string; testcase: { '@_name': string; failure?: { '@_message': string; '#text': string }; 'system-out'?: string; skipped?: unknown }[] } };
}

function parse(xml: string): Parsed {
  // Throws, naming line and column, on anything that is not well-formed XML.
  SyntaxValidator.validate(xml);
  return new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testcase' }).parse(xml) as Parsed;
}

const steps: StepOutcome[] = [
  { id: 'accelerator', title: 'Probe the accelerator', status: 'done', ms: 1200, tail: ['tcg: KVM is present but emulated'] },
  { id: 'build', title: 'Build main at abc from a fresh clone', status: 'done', ms: 30_000, tail: ['[recipe] apt-update: start', 'E: <broken> & "quoted"', `colour ${String.fromCharCode(27)}[31mred${String.fromCharCode(27)}[0m and a bell ${String.fromCharCode(7)}`] },
  { id: 'artifacts', title: 'Copy the artifacts', status: 'done', ms: 5000, tail: [] },
];

describe('JUnit reports', () => {
  it('a failing build: valid XML, one testcase per step, the failed step named with the message and hint, its output as system-out', () => {
    const failure = new UserError('build-failed', 'The build failed inside the VM (exit 7).', { kind: 'external', hint: 'Rebuild with --rescue' });
    const xml = renderJUnit([suiteFromSteps('tails-build iso', '2026-11-29T09:00:00Z', steps, failure, { commit: 'abc', ref: 'main' })]);
    const doc = parse(xml);
    assert.equal(doc.testsuites['@_tests'], '3');
    assert.equal(doc.testsuites['@_failures'], '1');
    const suite = doc.testsuites.testsuite;
    assert.equal(suite['@_name'], 'tails-build iso');
    const build = suite.testcase.find((c) => c['@_name'].startsWith('build:'));
    assert.ok(build?.failure !== undefined, 'the build step is the failed one');
    assert.equal(build.failure['@_message'], 'The build failed inside the VM (exit 7).');
    assert.match(build.failure['#text'], /hint: Rebuild with --rescue/);
    assert.match(String(build['system-out']), /E: <broken> & "quoted"/);
    assert.match(String(build['system-out']), /colour red and a bell/);
    assert.equal(suite.testcase.filter((c) => c.failure !== undefined).length, 1);
  });
  it('a refusal before any step is a testcase of its own', () => {
    const doc = parse(renderJUnit([suiteFromSteps('tails-build iso', 't', [], new UserError('libvirt-down', 'libvirt does not answer', { kind: 'prerequisite' }), {})]));
    const [only] = doc.testsuites.testsuite.testcase;
    assert.match(String(only?.['@_name']), /^preflight/);
    assert.equal(only?.failure?.['@_message'], 'libvirt does not answer');
  });
  it('a step that threw is the failure; a success has none; skipped steps say why', () => {
    const thrown: StepOutcome[] = [...steps.slice(0, 1), { id: 'vm-up', title: 'Start the VM', status: 'failed', ms: 10, error: new Error('vagrant up failed'), tail: [] }, { id: 'x', title: 'X', status: 'skipped', ms: 0, tail: ['skipped: not needed'] }];
    const doc = parse(renderJUnit([suiteFromSteps('tails-build iso', 't', thrown, new Error('vagrant up failed'), {})]));
    assert.equal(doc.testsuites.testsuite.testcase.find((c) => c['@_name'].startsWith('vm-up'))?.failure?.['@_message'], 'vagrant up failed');
    assert.ok(doc.testsuites.testsuite.testcase.find((c) => c['@_name'].startsWith('x:'))?.skipped !== undefined);
    assert.equal(parse(renderJUnit([suiteFromSteps('tails-build iso', 't', steps, undefined, {})])).testsuites['@_failures'], '0');
  });
  it('xmlText escapes markup and drops what XML cannot hold', () => {
    assert.equal(xmlText(`a<b>&"c"${String.fromCharCode(0)}`), 'a&lt;b&gt;&amp;&quot;c&quot;');
  });
});
