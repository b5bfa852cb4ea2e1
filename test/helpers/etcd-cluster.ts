// Real etcd members (Debian's etcd-server) for tests: 1 or 3 members on free 127.0.0.1 ports,
// each in its own temp data directory. Members can be killed with SIGKILL and restarted on the
// same ports and data; stop() kills every member by PID and removes the directories. Every
// member still running when the test process exits is killed.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  /** http://127.0.0.1:clientPort (https:// with TLS) */
  readonly clientUrl: string;
  /** PID of the running process, undefined while the member is down. */
  readonly pid: number | undefined;
  /** Everything the member printed, across restarts. */
  output(): string;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Client URLs of every member. */
  readonly endpoints: readonly string[];
  /** The `--store` value for kvs: etcd://127.0.0.1:P1,127.0.0.1:P2,... (etcds:// with TLS) */
  readonly storeUrl: string;
  /** SIGKILL one member and wait until it is gone. */
  kill9(index: number): Promise<void>;
  /** Start a killed member again on the same ports and data directory; waits until it answers /health. */
  restart(index: number): Promise<void>;
  /** Wait until the member answers /health with true (it has a leader). */
  waitHealthy(index: number, timeoutMs?: number): Promise<void>;
  /** Index of the member that running members name as the raft leader (asks etcd's JSON gateway). */
  leaderIndex(): Promise<number>;
  /** Kill every member by PID and remove the data directories. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Whether the etcd binary is installed. With CI=true a missing etcd is an error, never a
 * reason to skip.
 */
export function etcdInstalled(): boolean {
  const found = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  const ok = found.status === 0 && /etcd Version/.test(found.stdout);
  if (!ok && process.env.CI === 'true') {
    throw new Error(
      'etcd is not installed (Debian: apt-get install -y etcd-server); the etcd tests cannot be skipped in CI',
    );
  }
  return ok;
}

/** Client TLS of the members: clients must present a certificate signed by the CA. */
export interface EtcdTls {
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** A client certificate for the helper's own health checks. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

/** GET over https with the test CA and a client certificate (fetch cannot take a CA). */
function httpsGet(url: string, tls: EtcdTls, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      url,
      {
        ca: readFileSync(tls.caFile),
        cert: readFileSync(tls.clientCertFile),
        key: readFileSync(tls.clientKeyFile),
        timeout: timeoutMs,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
    request.end();
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

class Member implements EtcdMember {
  child: ChildProcess | undefined;
  exited: Promise<void> = Promise.resolve();
  private log = '';

  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
    private readonly args: readonly string[],
    private readonly tls: EtcdTls | undefined,
  ) {}

  get clientUrl(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.clientPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  output(): string {
    return this.log;
  }

  start(): void {
    const child = spawn('etcd', [...this.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    running.add(child);
    const keep = (chunk: Buffer) => {
      this.log += chunk.toString();
      if (this.log.length > 200_000) this.log = this.log.slice(-100_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        running.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
  }

  async kill9(): Promise<void> {
    const child = this.child;
    if (child?.pid === undefined) return;
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.exited;
  }

  async healthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (this.child === undefined)
        throw new Error(`etcd member ${this.name} exited; output:\n${this.log.slice(-4000)}`);
      try {
        let status: number;
        if (this.tls) {
          ({ status, body: last } = await httpsGet(`${this.clientUrl}/health`, this.tls, 1000));
        } else {
          const response = await fetch(`${this.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
          status = response.status;
          last = await response.text();
        }
        if (status === 200 && /"health":\s*"true"/.test(last)) return;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(
      `etcd member ${this.name} not healthy within ${timeoutMs} ms (last answer: ${last}); output:\n${this.log.slice(-4000)}`,
    );
  }
}

export async function startEtcdCluster(
  options: { size: 1 | 3; extraArgs?: readonly string[]; tls?: EtcdTls } = { size: 1 },
): Promise<EtcdCluster> {
  const scheme = options.tls ? 'https' : 'http';
  const tlsArgs = options.tls
    ? [
        '--cert-file',
        options.tls.serverCertFile,
        '--key-file',
        options.tls.serverKeyFile,
        '--trusted-ca-file',
        options.tls.caFile,
        '--client-cert-auth',
      ]
    : [];
  const token = `kvs-test-${randomBytes(6).toString('hex')}`;
  const plan: { name: string; clientPort: number; peerPort: number; dataDir: string }[] = [];
  for (let index = 0; index < options.size; index++) {
    plan.push({
      name: `n${index + 1}`,
      clientPort: await freePort(),
      peerPort: await freePort(),
      dataDir: mkdtempSync(join(tmpdir(), `kvs-etcd-n${index + 1}-`)),
    });
  }
  const initialCluster = plan.map((member) => `${member.name}=http://127.0.0.1:${member.peerPort}`).join(',');
  const members = plan.map(
    (member) =>
      new Member(
        member.name,
        member.clientPort,
        member.peerPort,
        member.dataDir,
        [
          '--name',
          member.name,
          '--data-dir',
          member.dataDir,
          '--listen-client-urls',
          `${scheme}://127.0.0.1:${member.clientPort}`,
          '--advertise-client-urls',
          `${scheme}://127.0.0.1:${member.clientPort}`,
          '--listen-peer-urls',
          `http://127.0.0.1:${member.peerPort}`,
          '--initial-advertise-peer-urls',
          `http://127.0.0.1:${member.peerPort}`,
          '--initial-cluster',
          initialCluster,
          '--initial-cluster-token',
          token,
          '--initial-cluster-state',
          'new',
          '--logger',
          'zap',
          '--log-level',
          'warn',
          ...tlsArgs,
          ...(options.extraArgs ?? []),
        ],
        options.tls,
      ),
  );
  for (const member of members) member.start();

  const stop = async () => {
    await Promise.all(members.map((member) => member.kill9()));
    for (const member of members) rmSync(member.dataDir, { recursive: true, force: true });
  };
  try {
    await Promise.all(members.map((member) => member.healthy(30_000)));
  } catch (error) {
    await stop();
    throw error;
  }
  const member = (index: number): Member => {
    const found = members[index];
    if (found === undefined) throw new Error(`no etcd member ${index}`);
    return found;
  };
  return {
    members,
    endpoints: members.map((item) => item.clientUrl),
    storeUrl: `${options.tls ? 'etcds' : 'etcd'}://${members.map((item) => `127.0.0.1:${item.clientPort}`).join(',')}`,
    kill9: (index) => member(index).kill9(),
    restart: async (index) => {
      const target = member(index);
      if (target.child !== undefined) throw new Error(`etcd member ${target.name} is still running`);
      target.start();
      await target.healthy(30_000);
    },
    waitHealthy: (index, timeoutMs = 30_000) => member(index).healthy(timeoutMs),
    leaderIndex: async () => {
      const statuses = await Promise.all(
        members.map(async (item) => {
          if (item.child === undefined) return undefined;
          try {
            const response = await fetch(`${item.clientUrl}/v3/maintenance/status`, {
              method: 'POST',
              body: '{}',
              signal: AbortSignal.timeout(2000),
            });
            return (await response.json()) as { header: { member_id: string }; leader: string };
          } catch {
            return undefined;
          }
        }),
      );
      const leader = statuses.find((status) => status !== undefined && status.leader !== '0')?.leader;
      const index = statuses.findIndex((status) => status?.header.member_id === leader);
      if (leader === undefined || index < 0) throw new Error('no etcd member names a running leader');
      return index;
    },
    stop,
  };
}
