// kvs as the attacks meet it: `node bin/kvs.js serve` (lmdb engine, 127.0.0.1, free HTTP and RESP
// ports) with two tokens — an admin token for the harness and a write token limited to prefix
// `p/` (the attacker's) — plus whatever flags the attack needs.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild, stopChild, type Child, type ChildExit } from '../lib/children.js';

export const ADMIN_TOKEN = 'attack-admin-token-0123456789abcdef';
/** The attacker's token: write scope, keys starting with p/ only. */
export const PREFIX_TOKEN = 'attack-prefix-token-p-0123456789';

export interface AttackServer {
  readonly baseUrl: string;
  readonly httpPort: number;
  readonly respPort: number;
  readonly pid: number;
  readonly child: Child;
  readonly dataDir: string;
  /** How the process ended, if it has (before the harness stopped it: a crash). */
  exitedEarly(): ChildExit | undefined;
  stop(): Promise<ChildExit>;
  /** SIGKILL to the process group at once (the RSS cap). */
  kill(): void;
}

export async function startAttackServer(
  repoRoot: string,
  home: string,
  dataDir: string,
  extraArgs: readonly string[],
): Promise<AttackServer> {
  mkdirSync(dataDir, { recursive: true });
  const tokenFile = join(home, 'tokens.txt');
  writeFileSync(tokenFile, `${ADMIN_TOKEN} admin\n${PREFIX_TOKEN} write p/\n`, { mode: 0o600 });
  const args = [
    join(repoRoot, 'bin', 'kvs.js'),
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--resp-port',
    '0',
    '--store',
    'lmdb',
    '--data',
    dataDir,
    '--token-file',
    tokenFile,
    ...extraArgs,
  ];
  const child = startChild('kvs', process.execPath, args, { cwd: repoRoot });
  let exitSeen: ChildExit | undefined;
  let stopping = false;
  void child.exited.then((exit) => {
    if (!stopping) exitSeen = exit;
  });
  try {
    const [http, resp] = await Promise.all([
      child.waitForLine(/kvs ready: (http:\/\/\S+)/, 60_000),
      child.waitForLine(/kvs resp ready: \S*:(\d+)/, 60_000),
    ]);
    const baseUrl = http[1]!;
    return {
      baseUrl,
      httpPort: Number(new URL(baseUrl).port),
      respPort: Number(resp[1]),
      pid: child.pid,
      child,
      dataDir,
      exitedEarly: () => exitSeen,
      stop: async () => {
        stopping = exitSeen === undefined;
        return stopChild(child);
      },
      kill: () => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      },
    };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}
