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
    throw new ConfigError(`${flag}: cannot read ${path} (${errnoOf(error)}); give the path of a readable PEM file`);
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
      `--tls-cert/--tls-key: not a usable PEM certificate and key (${error instanceof Error ? error.message : String(error)}); give a PEM certificate and its private key`,
    );
  }
}

/** An existing --data must be a directory; a missing one is created later (and undone on failure). */
function checkDataDir(config: Config): void {
  if (config.dataDir.trim() === '') throw new ConfigError('--data must name a directory (got "")');
  let info: ReturnType<typeof statSync>;
  try {
    info = statSync(config.dataDir, { throwIfNoEntry: false });
  } catch (error) {
    // ENOTDIR (a path under a regular file), EACCES (a parent this user may not enter), ...
    throw new ConfigError(
      `--data: cannot use ${config.dataDir} (${errnoOf(error)}); give a directory this user can create or write`,
    );
  }
  if (info !== undefined && !info.isDirectory())
    throw new ConfigError(`--data ${config.dataDir} is not a directory; give a directory (a missing one is created)`);
}

/** Why listening failed and what to do, by errno; `flag` is the port's flag. */
function listenHint(code: string, flag: string): string {
  switch (code) {
    case 'EADDRINUSE':
      return `another process is listening there; stop it or choose another ${flag}`;
    case 'EACCES':
      return `this user may not listen on that port; choose a ${flag} above 1023`;
    case 'EADDRNOTAVAIL':
      return 'the address is not one of this machine; choose another --host (e.g. 127.0.0.1 or 0.0.0.0)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve; check --host';
    default:
      return `check --host and ${flag}`;
  }
}

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
    throw new ConfigError(`${flag}: cannot listen on ${host}:${port} (${code}): ${listenHint(code, flag)}`);
  } finally {
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

export async function preflight(config: Config): Promise<void> {
  checkTls(config);
  checkDataDir(config);
  // Each port on its own is free, so the probes below pass; the second listener would not.
  if (config.respPort !== undefined && config.respPort !== 0 && config.respPort === config.port)
    throw new ConfigError(`--resp-port ${config.respPort} is also the --port; choose another --resp-port`);
  await probeListen('--port', config.host, config.port);
  if (config.respPort !== undefined && config.respPort !== 0)
    await probeListen('--resp-port', config.host, config.respPort);
}
