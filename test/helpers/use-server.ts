// useServer(): one real kvs server for the tests of a describe block (or of a whole file when
// called at the top level). It registers node:test hooks where it is called: `before` starts the
// server, `after` stops it (SIGTERM by PID, then the crash-evidence check of stop(), which fails
// the suite if the server printed an uncaught exception or exited by itself) and removes the
// temporary data directory it created. It replaces the before/after pair every server test used
// to write by hand.
//
// The returned handle reads through to the running server, so tests use it like the
// ServerProcess of startServer(): `server.url`, `server.token`, `authed(server)`. Reading it
// before the `before` hook ran (at describe time) throws, naming the property.
//
// Hooks run in the order they are registered: register an `after` that must run while the server
// is still up (closing streams, browsers) *before* calling useServer, and a `before` that needs
// the server (filling keys, building a client) after it.

import { after, before } from 'node:test';
import { removeDir, type ServerProcess, type StartOptions, startServer } from './server-process.js';

export interface ServerSetup extends StartOptions {
  /**
   * What `server.token` answers when tokenFileText holds the test's own tokens (startServer's
   * token is then not in the file).
   */
  readonly token?: string;
}

/** The setup, or a function returning it when it is only known at `before` time. */
export type UseServerOptions = ServerSetup | (() => ServerSetup | Promise<ServerSetup>);

export interface UsedServer extends ServerProcess {
  /**
   * Stops the server (if the test has not already) and starts it again with the same setup, on the
   * same data directory and with the same token; the handle then reads through to the new process.
   */
  restart(): Promise<void>;
}

export function useServer(options: UseServerOptions = {}): UsedServer {
  let setup: ServerSetup = {};
  let current: ServerProcess | undefined;
  let ownsDataDir = false;
  let token: string | undefined;

  before(async () => {
    setup = typeof options === 'function' ? await options() : options;
    ownsDataDir = setup.dataDir === undefined;
    token = setup.token;
    current = await startServer(setup);
  });
  after(async () => {
    const server = current;
    if (server === undefined) return;
    try {
      await server.stop();
    } finally {
      if (ownsDataDir) removeDir(server.dataDir);
    }
  });

  const running = (property: string): ServerProcess => {
    if (current === undefined)
      throw new Error(`useServer: server.${property} read before the server started (outside a test or hook?)`);
    return current;
  };
  return {
    get url() {
      return running('url').url;
    },
    get port() {
      return running('port').port;
    },
    get respPort() {
      return running('respPort').respPort;
    },
    get pid() {
      return running('pid').pid;
    },
    get token() {
      const server = running('token');
      return token ?? server.token;
    },
    get dataDir() {
      return running('dataDir').dataDir;
    },
    get tokenFile() {
      return running('tokenFile').tokenFile;
    },
    get child() {
      return running('child').child;
    },
    get exited() {
      return running('exited').exited;
    },
    output: () => running('output').output(),
    stop: () => running('stop').stop(),
    kill9: () => running('kill9').kill9(),
    restart: async () => {
      const previous = running('restart');
      await previous.stop();
      // startServer writes a new token unless given the file's text: keep the one the test knows.
      token ??= previous.token;
      current = await startServer({
        ...setup,
        dataDir: previous.dataDir,
        tokenFileText: setup.tokenFileText ?? `${previous.token} admin\n`,
      });
    },
  };
}
