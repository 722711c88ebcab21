/** Real unix sockets for tests of what killed processes leave behind. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** A node process that listens on a socket named after its own pid, then is SIGKILLed: the socket file stays. */
export async function socketOfKilledServer(dir: string): Promise<string> {
  const script = `const s = require('node:net').createServer().listen(require('node:path').join(${JSON.stringify(dir)}, 'snapshots-' + process.pid + '-1764700000000.sock'), () => console.log(s.address()));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout.setEncoding('utf8'), 'data')) as [string];
  child.kill('SIGKILL');
  await once(child, 'exit');
  return line.trim();
}
