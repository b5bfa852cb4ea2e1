// Checks `kvs serve` makes before it writes anything (a new data directory, an admin token, the
// store): a start that is bound to fail fails here, with one line naming the flag, and leaves the
// disk as it was. What cannot be known in advance (a port taken in between) is undone by
// runServer (src/main.ts).

import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSecureContext } from 'node:tls';
import { ConfigError, type Config } from '../core/config.js';

function errnoOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}

function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${flag}: cannot read ${path} (${errnoOf(error)})`);
  }
}

function checkTls(config: Config): void {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return;
  const cert = readFlagFile('--tls-cert', config.tlsCert);
  const key = readFlagFile('--tls-key', config.tlsKey);
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new ConfigError(
      `--tls-cert/--tls-key: not a usable PEM certificate and key (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}

/** An existing --data must be a directory; a missing one is created later (and undone on failure). */
function checkDataDir(config: Config): void {
  if (config.dataDir.trim() === '') throw new ConfigError('--data must name a directory (got "")');
  const info = statSync(config.dataDir, { throwIfNoEntry: false });
  if (info !== undefined && !info.isDirectory()) throw new ConfigError(`--data ${config.dataDir} is not a directory`);
}

const listenHints: Record<string, string> = {
  EADDRINUSE: 'another process is listening there; stop it or choose another port',
  EACCES: 'this user may not listen on that port; choose a port above 1023',
  EADDRNOTAVAIL: 'the address is not one of this machine',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
};

/** Listens on host:port and closes again: EADDRINUSE and friends, before anything is created. */
async function probeListen(flag: string, host: string, port: number): Promise<void> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host, port, exclusive: true }, resolve);
    });
  } catch (error) {
    const code = errnoOf(error);
    const hint = listenHints[code];
    throw new ConfigError(
      `${flag}: cannot listen on ${host}:${port} (${code})${hint === undefined ? '' : `: ${hint}`}`,
    );
  } finally {
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

export async function preflight(config: Config): Promise<void> {
  checkTls(config);
  checkDataDir(config);
  await probeListen('--port', config.host, config.port);
  if (config.respPort !== undefined && config.respPort !== 0)
    await probeListen('--resp-port', config.host, config.respPort);
}
