// The attacks suite: each hostile workload of bench/attacks/ against a freshly started kvs, with
// the server's RSS, crash, answers, and what a well-behaved client saw before and during it.
// docs/reliability.md explains each attack and keeps the measured figures.

import { onAbnormalExit } from '../lib/children.js';
import { formatMs, type SuiteReport } from '../lib/report.js';
import type { Session } from '../lib/session.js';
import type { Attack } from '../attacks/attack.js';
import { runAttack, type AttackRecord } from '../attacks/attack-runner.js';
import type { AttackSettings } from '../attacks/attack-settings.js';
import { authSpray } from '../attacks/auth-spray.js';
import type { PhaseFigures } from '../attacks/bystander.js';
import { commandInfo } from '../attacks/command-info.js';
import { diskFull, unmountLeftovers } from '../attacks/disk-full.js';
import { indexHotKey } from '../attacks/index-hot-key.js';
import { poisonTtl } from '../attacks/poison-ttl.js';
import { respPartialArgs } from '../attacks/resp-partial-args.js';
import { respUnreadReplies } from '../attacks/resp-unread-replies.js';
import { slowloris } from '../attacks/slowloris.js';
import { watchFlood } from '../attacks/watch-flood.js';

export const attacksBinaries: string[] = [];

export const attacks: readonly Attack[] = [
  poisonTtl,
  watchFlood,
  respPartialArgs,
  respUnreadReplies,
  commandInfo,
  indexHotKey,
  authSpray,
  slowloris,
  diskFull,
];

export const attackNames = attacks.map((attack) => attack.name);

const mibText = (value: number) => value.toFixed(0);

function othersCell(figures: PhaseFigures | undefined): string {
  if (figures === undefined) return 'n/a';
  const { gets } = figures;
  return `${formatMs(gets.p50)} / ${formatMs(gets.p99)} / ${formatMs(Math.max(gets.max, figures.oldestPendingMs))} (${gets.count.toLocaleString('en-US')} GETs)`;
}

function othersTroubleCell(figures: PhaseFigures | undefined): string {
  if (figures === undefined) return 'n/a';
  const parts = [`${figures.timeouts} timeouts`];
  if (figures.non200 > 0) parts.push(`${figures.non200} non-200`);
  if (figures.socketErrors > 0) parts.push(`${figures.socketErrors} socket errors`);
  return parts.join(', ');
}

function pingCell(figures: PhaseFigures | undefined): string {
  if (figures === undefined) return 'n/a';
  const max = Math.max(figures.pings.max, figures.pingPendingMs);
  const extra = [
    figures.pingTimeouts > 0 ? `${figures.pingTimeouts} timeouts (5 s)` : '',
    figures.pingErrors > 0 ? `${figures.pingErrors} errors` : '',
    figures.pingPendingMs > 1000 ? `one unanswered for ${formatMs(figures.pingPendingMs)} ms at the end` : '',
  ].filter((part) => part !== '');
  return `${formatMs(max)}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
}

function summaryRow(record: AttackRecord): string[] {
  const rss = record.rssAttack;
  return [
    record.attack,
    String(record.round),
    record.tried,
    record.answers,
    record.crashed,
    record.answersAfter,
    rss === undefined
      ? 'n/a'
      : `${mibText(rss.startMiB)} → ${mibText(rss.peakMiB)}; after: ${record.rssAfter === undefined ? 'n/a' : record.rssAfter.peakMiB === 0 ? 'process gone' : mibText(record.rssAfter.peakMiB)} (HWM ${mibText(Math.max(rss.hwmMiB, record.rssAfter?.hwmMiB ?? 0))})`,
    `${othersCell(record.baseline)} → ${othersCell(record.during)}`,
    othersTroubleCell(record.during),
    `${record.baseline === undefined ? 'n/a' : formatMs(record.baseline.pings.max)} → ${pingCell(record.during)}`,
    record.attackSeconds.toFixed(1),
  ];
}

export async function runAttacksSuite(session: Session, settings: AttackSettings): Promise<SuiteReport> {
  const { context } = session;
  onAbnormalExit(unmountLeftovers);
  const records: AttackRecord[] = [];
  const selected = attacks.filter((attack) => settings.attacks.includes(attack.name));
  for (let round = 1; round <= session.settings.rounds; round++) {
    for (const attack of selected) {
      const record = await runAttack(attack, round, settings, context.repoRoot, context.workDir, (message) =>
        session.log(message),
      );
      session.log(
        `${attack.name} (round ${round}): crashed ${record.crashed}; answers after: ${record.answersAfter}; RSS peak ${record.rssAttack?.peakMiB.toFixed(0) ?? 'n/a'} MiB; others p99 ${record.during?.gets.p99.toFixed(1) ?? 'n/a'} ms`,
      );
      for (const problem of record.problems) session.log(`${attack.name}: ${problem}`);
      records.push(record);
    }
  }
  const notes: string[] = [];
  for (const record of records) {
    for (const problem of record.problems) notes.push(`${record.attack} round ${record.round}: ${problem}`);
    if (record.serverOutputTail !== '')
      notes.push(
        `${record.attack} round ${record.round}: kvs output before it exited: ${record.serverOutputTail.replace(/\s+/g, ' ').slice(-600)}`,
      );
    if (record.rssAttack !== undefined && record.rssAttack.maxGapMs > 250)
      notes.push(
        `${record.attack} round ${record.round}: the harness sampled RSS with gaps up to ${record.rssAttack.maxGapMs.toFixed(0)} ms (its own event loop was busy); VmHWM is the kernel's exact peak.`,
      );
  }
  notes.push(
    'The machine is shared: other processes may have used the cores during a run, so latency figures are noisy; compare the baseline column of the same row.',
  );
  return {
    suite: 'attacks',
    title: 'Attacks: hostile workloads against one kvs (lmdb)',
    method: [
      'Each attack gets a fresh `kvs serve --store lmdb --host 127.0.0.1 --port 0 --resp-port 0` with an admin token and a write token limited to `p/`, stopped by its process group at the end.',
      `Others: a separate process with ${settings.bystanderConnections} keep-alive connections doing closed-loop \`GET /v1/kv/bystander/key\` (100 bytes; a GET slower than ${settings.bystanderTimeoutMs} ms counts as a timeout), measured ${settings.baselineSeconds} s before the attack (baseline, after a 1 s warm-up) and during it; its RESP connection sends PING every 20 ms (the server's stall).`,
      `RSS: /proc/PID/status VmRSS sampled every 50 ms during the attack (start → peak) and after it (peak from the end of the attack until the server is stopped, which includes the \`answers after\` check of up to 10 s), and VmHWM (the kernel's peak over the whole life, loading included). The harness kills the server past ${settings.rssCapMiB} MiB and reports it.`,
      `Latency cells: p50 / p99 / max in ms, baseline → during; a GET that timed out enters the percentiles as ${settings.bystanderTimeoutMs} ms (a lower bound), and max includes a request still unanswered at the end.`,
    ],
    tables: [
      { headers: ['attack', 'what it does'], rows: selected.map((attack) => [attack.name, attack.summary]) },
      {
        headers: [
          'attack',
          'round',
          'tried',
          'answers',
          'crashed',
          'answers after',
          'RSS MiB: attack start → peak; after: peak',
          'others GET ms p50/p99/max: baseline → during',
          'others during: trouble',
          'PING max ms: baseline → during',
          'attack s',
        ],
        rows: records.map(summaryRow),
      },
      {
        headers: ['attack', 'round', 'figure', 'value'],
        rows: records.flatMap((record) =>
          record.details.map(([label, value]) => [record.attack, String(record.round), label, value]),
        ),
      },
    ],
    targets: [],
    notes,
  };
}
