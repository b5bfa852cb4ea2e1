// Runs one attack against a freshly started kvs and measures it from outside: the server's RSS,
// whether it exited, what the bystander saw before and during the attack, and whether the server
// still answers afterwards. Nothing an attack does can abort the suite: a failure, a hang (the
// harness's deadline) or a crash becomes part of the record.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { benchValue } from '../lib/request-set.js';
import type { ChildExit } from '../lib/children.js';
import type { Attack, AttackContext, AttackFindings } from './attack.js';
import { httpCall } from './attack-http.js';
import { ADMIN_TOKEN, startAttackServer, type AttackServer } from './attack-server.js';
import type { AttackSettings } from './attack-settings.js';
import { Bystander, type PhaseFigures } from './bystander.js';
import { RssSampler, type RssFigures } from './rss-sampler.js';

export const BYSTANDER_KEY = 'bystander/key';

export interface AttackRecord {
  readonly attack: string;
  readonly round: number;
  readonly tried: string;
  readonly answers: string;
  readonly details: readonly (readonly [string, string])[];
  /** e.g. "no", "yes: exit code 1", "yes: signal SIGBUS". */
  readonly crashed: string;
  /** The harness killed the server at the RSS cap. */
  readonly cappedAtMiB: number | undefined;
  /** After the attack: did a GET of the bystander key answer 200? */
  readonly answersAfter: string;
  readonly rssAttack: RssFigures | undefined;
  /** From the end of the attack until the server is stopped (the check that it still answers). */
  readonly rssAfter: RssFigures | undefined;
  readonly baseline: PhaseFigures | undefined;
  readonly during: PhaseFigures | undefined;
  readonly attackSeconds: number;
  /** Problems of the harness or the attack itself (not the server's answers). */
  readonly problems: readonly string[];
  /** The tail of the server's output when it crashed. */
  readonly serverOutputTail: string;
}

function describeExit(exit: ChildExit | undefined): string {
  if (exit === undefined) return 'no';
  return exit.signal !== null ? `yes: signal ${exit.signal}` : `yes: exit code ${exit.code}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s (harness deadline)`)),
      ms,
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runAttack(
  attack: Attack,
  round: number,
  settings: AttackSettings,
  repoRoot: string,
  workDir: string,
  log: (message: string) => void,
): Promise<AttackRecord> {
  const home = join(workDir, `attack-${attack.name}-${round}`);
  mkdirSync(home, { recursive: true });
  const problems: string[] = [];
  const sockets = new Set<Socket>();
  let attackOver = false;
  let server: AttackServer | undefined;
  let sampler: RssSampler | undefined;
  let bystander: Bystander | undefined;
  let findings: AttackFindings | undefined;
  let rssAttack: RssFigures | undefined;
  let rssAfter: RssFigures | undefined;
  let baseline: PhaseFigures | undefined;
  let during: PhaseFigures | undefined;
  let attackSeconds = 0;
  let crashed = 'no';
  let answersAfter = 'not checked';
  let storageTeardown: (() => Promise<readonly string[]>) | undefined;
  let prepareDetails: readonly (readonly [string, string])[] = [];
  let outputTail = '';
  try {
    let dataDir = join(home, 'data');
    if (attack.storage !== undefined) {
      const storage = await attack.storage(home, settings);
      dataDir = storage.dataDir;
      storageTeardown = () => storage.teardown();
    }
    log(`${attack.name} (round ${round}): starting kvs`);
    const started = await startAttackServer(repoRoot, home, dataDir, attack.serverArgs?.(settings) ?? []);
    server = started;
    sampler = new RssSampler(started.pid, settings.rssCapMiB, () => {
      log(`${attack.name}: server RSS passed the cap of ${settings.rssCapMiB} MiB: killing it`);
      started.kill();
    });
    sampler.start();
    sampler.newPhase('preparation');
    const context: AttackContext = {
      server: started,
      settings,
      repoRoot,
      home,
      log: (message) => log(`${attack.name}: ${message}`),
      track: (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        return socket;
      },
      active: () => !attackOver,
    };
    const seeded = await httpCall({
      port: started.httpPort,
      method: 'PUT',
      path: `/v1/kv/${BYSTANDER_KEY}`,
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/octet-stream' },
      body: benchValue(),
    });
    if (seeded.status < 200 || seeded.status > 299)
      throw new Error(
        `could not write the bystander key: ${seeded.status || seeded.error} ${seeded.body.slice(0, 200)}`,
      );
    if (attack.prepare !== undefined) {
      log(`${attack.name}: preparing`);
      prepareDetails = await withDeadline(attack.prepare(context), 600_000, `${attack.name} preparation`);
    }
    bystander = await Bystander.start({
      repoRoot,
      httpPort: started.httpPort,
      respPort: started.respPort,
      path: `/v1/kv/${BYSTANDER_KEY}`,
      connections: settings.bystanderConnections,
      timeoutMs: settings.bystanderTimeoutMs,
      baselineSeconds: settings.baselineSeconds,
      maxSeconds: attack.maxSeconds(settings) + 120,
    });
    baseline = bystander.baseline;
    sampler.newPhase('the attack');
    log(`${attack.name}: attacking (bystander baseline p99 ${baseline.gets.p99.toFixed(2)} ms)`);
    const attackStarted = performance.now();
    try {
      findings = await withDeadline(attack.run(context), (attack.maxSeconds(settings) + 60) * 1000, attack.name);
    } catch (error) {
      problems.push(`attack did not complete: ${errorText(error)}`);
    } finally {
      attackOver = true;
      attackSeconds = (performance.now() - attackStarted) / 1000;
    }
    during = await bystander.finish();
    if (during === undefined) problems.push('the bystander did not report its figures');
    bystander = undefined;
    rssAttack = sampler.figures();
    sampler.newPhase('after the attack');
    for (const socket of sockets) socket.destroy();
    crashed = describeExit(started.exitedEarly());
    if (started.exitedEarly() === undefined) {
      const after = await httpCall({ port: started.httpPort, path: `/v1/kv/${BYSTANDER_KEY}`, timeoutMs: 10_000 });
      answersAfter =
        after.status === 200 ? `yes (200 in ${after.ms.toFixed(1)} ms)` : `NO (${after.status || after.error})`;
    } else {
      answersAfter = 'NO (process gone)';
    }
  } catch (error) {
    problems.push(errorText(error));
    if (server !== undefined) crashed = describeExit(server.exitedEarly());
  } finally {
    attackOver = true;
    for (const socket of sockets) socket.destroy();
    if (bystander !== undefined) await bystander.finish();
    if (sampler !== undefined && rssAttack !== undefined) rssAfter = sampler.figures();
    sampler?.stop();
    if (server !== undefined) {
      if (server.exitedEarly() !== undefined) outputTail = server.child.outputTail();
      const exit = await server.stop();
      if (server.exitedEarly() === undefined && exit.code !== 0 && exit.signal !== 'SIGTERM')
        problems.push(`kvs ended with code ${exit.code} signal ${exit.signal} on SIGTERM`);
    }
    if (storageTeardown !== undefined) {
      try {
        problems.push(...(await storageTeardown()));
      } catch (error) {
        problems.push(`storage teardown failed: ${errorText(error)}`);
      }
    }
  }
  return {
    attack: attack.name,
    round,
    tried: findings?.tried ?? '(attack did not complete)',
    answers: findings?.tally.summary() ?? '',
    details: [...prepareDetails, ...(findings?.details ?? [])],
    crashed:
      sampler?.cappedAtMiB !== undefined
        ? `KILLED by the harness: RSS ${sampler.cappedAtMiB.toFixed(0)} MiB passed the cap during ${sampler.cappedIn}`
        : crashed,
    cappedAtMiB: sampler?.cappedAtMiB,
    answersAfter,
    rssAttack,
    rssAfter,
    baseline,
    during,
    attackSeconds,
    problems,
    serverOutputTail: outputTail,
  };
}
