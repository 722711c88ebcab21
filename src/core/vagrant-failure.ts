/**
 * What vagrant said when it failed, out of everything it printed. Two shapes:
 *
 * - A Vagrant::Errors::VagrantError: bin/vagrant rescues it and prints only
 *   its message (and hint) on stderr, after the progress lines ("==> default:
 *   …", "Bringing machine …") it printed on stdout or stderr.
 * - Any other exception (a Libvirt::Error, an Errno, a RuntimeError): Ruby
 *   prints "FILE:LINE:in `METHOD': MESSAGE (CLASS)", the rest of a multi-line
 *   message, then one "\tfrom FILE:LINE:in …" line per frame. The last lines,
 *   which a stderr tail shows, are only the outermost frames (bin/vagrant,
 *   environment.rb, the middleware stack: box_check_outdated.rb, warden.rb …);
 *   the message is on the first line.
 *
 * Pure: the text in, the message out.
 */

export interface VagrantFailure {
  /** Vagrant's own words: its error message, or the exception's message. */
  readonly message: string;
  /** The Ruby exception class when vagrant crashed with a backtrace (e.g. Vagrant::Errors::EnvironmentLockedError). */
  readonly exception?: string;
  /** Where it was raised (file:line:in `method'), for a backtrace. */
  readonly raisedAt?: string;
}

/** The first line of a Ruby backtrace: location, message, class. The class is a constant path (Foo::Bar). */
const RAISE_LINE = /^(?<at>\S+?:\d+:in [`'][^']*'): (?<rest>.*)$/;
const CLASS_AT_END = /^(?<message>.*) \((?<exception>[A-Z][\w]*(?:::[A-Z][\w]*)*)\)$/;
const FRAME_LINE = /^\s+from \S+?:\d+:in /;
/** Progress vagrant prints before it fails: not the failure. */
const PROGRESS = [/^==> /, /^Bringing machine /, /^\s*default: /, /^\s*-- /];

const MAX_MESSAGE_LINES = 12;

/** Reads vagrant's failure out of its stderr (and stdout, when stderr is empty); undefined when it printed nothing. */
export function readVagrantFailure(stderr: string, stdout = ''): VagrantFailure | undefined {
  const text = stderr.trim() === '' ? stdout : stderr;
  const lines = text.replace(/\r/g, '').split('\n');
  const raiseIndex = lines.findIndex((line, i) => RAISE_LINE.test(line) && (FRAME_LINE.test(lines[i + 1] ?? '') || CLASS_AT_END.test(line)));
  if (raiseIndex >= 0) return readBacktrace(lines, raiseIndex);
  const said = lines.map((l) => l.trimEnd()).filter((l) => l.trim() !== '' && !PROGRESS.some((p) => p.test(l)));
  if (said.length === 0) return undefined;
  return { message: said.slice(0, MAX_MESSAGE_LINES).join('\n') };
}

function readBacktrace(lines: readonly string[], at: number): VagrantFailure {
  const first = RAISE_LINE.exec(lines[at] ?? '')?.groups ?? {};
  // A multi-line message: Ruby prints the class after its first line, the other lines follow before the frames.
  const rest = [first.rest ?? ''];
  for (const line of lines.slice(at + 1)) {
    if (FRAME_LINE.test(line)) break;
    rest.push(line.trimEnd());
  }
  const classed = CLASS_AT_END.exec(rest[0] ?? '')?.groups;
  const message = [classed?.message ?? rest[0] ?? '', ...rest.slice(1)].filter((l) => l.trim() !== '').slice(0, MAX_MESSAGE_LINES).join('\n');
  // What vagrant printed before crashing (not progress) often says what it was doing: keep it ahead of the exception.
  const before = lines.slice(0, at).filter((l) => l.trim() !== '' && !PROGRESS.some((p) => p.test(l)));
  return {
    message: [...before.slice(-3), message].join('\n'),
    ...(classed?.exception === undefined ? {} : { exception: classed.exception }),
    ...(first.at === undefined ? {} : { raisedAt: first.at }),
  };
}
