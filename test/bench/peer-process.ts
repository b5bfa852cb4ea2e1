// Starts a bench peer (bench/peers/) on a free 127.0.0.1 port for a test; the test kills it by its
// process (child.kill) when done.

import { type ChildProcess, spawn } from 'node:child_process';

export async function startPeer(script: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [script, '--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /ready: (?:http:\/\/)?[\d.]+:(\d+)/.exec(out);
      if (ready !== null) resolve(Number(ready[1]));
    });
    child.once('exit', (code) => reject(new Error(`the peer exited with ${code}`)));
  });
  return { child, port };
}
