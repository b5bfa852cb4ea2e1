// A bench peer (bench/peers/) with --aof for a test: started on a free 127.0.0.1 port with its
// append-only file in a fresh temporary directory before the suite's tests, killed by its process
// and the directory removed after them.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';

export interface AofPeer {
  /** Its port, once the suite's `before` has run. */
  port: number;
  /** Its append-only file. */
  file: string;
}

/** Registers the suite's before/after hooks for a peer started with `--aof FILE --aof-sync sync`. */
export function useAofPeer(script: string, sync: 'pool' | 'loop'): AofPeer {
  const peer: AofPeer = { port: 0, file: '' };
  let dir: string;
  let child: ChildProcess;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvs-aof-peer-'));
    peer.file = join(dir, 'appendonly.aof');
    child = spawn(
      process.execPath,
      [script, '--host', '127.0.0.1', '--port', '0', '--aof', peer.file, '--aof-sync', sync],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    peer.port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const ready = /ready: (?:http:\/\/)?[\d.]+:(\d+)/.exec(out);
        if (ready !== null) resolve(Number(ready[1]));
      });
      child.once('exit', (code) => reject(new Error(`the peer exited with ${code}`)));
    });
  });
  after(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return peer;
}
