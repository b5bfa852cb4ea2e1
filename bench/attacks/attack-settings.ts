// The attack suite's flags: every attack is bounded in count and in seconds, and each bound is a
// flag so the lead can rerun one attack harder or faster (docs/reliability.md lists them).

export interface AttackSettings {
  /** Attacks to run, in order (default: all). */
  readonly attacks: readonly string[];
  /** Seconds the bystander measures before each attack starts. */
  readonly baselineSeconds: number;
  /** The harness kills the server (and says so) when its RSS passes this, to protect the shared machine. */
  readonly rssCapMiB: number;
  readonly bystanderConnections: number;
  readonly bystanderTimeoutMs: number;
  readonly watchRevisions: number;
  readonly watchValueBytes: number;
  readonly watchers: number;
  readonly watchSeconds: number;
  readonly partialConnections: number;
  readonly partialArgs: number;
  readonly partialSeconds: number;
  readonly unreadConnections: number;
  readonly unreadSeconds: number;
  readonly unreadValueBytes: number;
  readonly unreadMaxCommands: number;
  readonly infoNames: number;
  readonly infoParallel: number;
  readonly infoRepeats: number;
  readonly indexKeys: number;
  readonly indexHotWrites: number;
  readonly indexLogLength: number;
  readonly indexSeconds: number;
  readonly indexConcurrency: number;
  readonly sprayAddresses: number;
  readonly spraySeconds: number;
  readonly sprayConcurrency: number;
  readonly slowlorisConnections: number;
  readonly slowlorisSeconds: number;
  readonly diskSizeMiB: number;
  readonly diskFillerMiB: number;
  readonly diskValueBytes: number;
  readonly diskMaxPuts: number;
}

interface NumberFlag {
  readonly field: Exclude<keyof AttackSettings, 'attacks'>;
  readonly fallback: number;
  readonly help: string;
}

/** flag name -> field, default, help. */
export const attackNumberFlags: Readonly<Record<string, NumberFlag>> = {
  'attack-baseline-seconds': { field: 'baselineSeconds', fallback: 3, help: 'bystander baseline before each attack' },
  'attack-rss-cap-mib': { field: 'rssCapMiB', fallback: 4096, help: 'kill the server (reported) past this RSS' },
  'bystander-connections': { field: 'bystanderConnections', fallback: 20, help: 'well-behaved GET connections' },
  'bystander-timeout-ms': {
    field: 'bystanderTimeoutMs',
    fallback: 2000,
    help: 'a bystander GET slower than this is a timeout',
  },
  'watch-revisions': { field: 'watchRevisions', fallback: 20_000, help: 'watch-flood: revisions written first' },
  'watch-value-bytes': { field: 'watchValueBytes', fallback: 4096, help: 'watch-flood: value size' },
  watchers: { field: 'watchers', fallback: 40, help: 'watch-flood: watch streams (half read slowly, half never)' },
  'watch-seconds': { field: 'watchSeconds', fallback: 20, help: 'watch-flood: how long the streams are held' },
  'partial-connections': { field: 'partialConnections', fallback: 20, help: 'resp-partial-args: connections' },
  'partial-args': { field: 'partialArgs', fallback: 1_048_576, help: 'resp-partial-args: announced arguments' },
  'partial-seconds': { field: 'partialSeconds', fallback: 15, help: 'resp-partial-args: how long they are held' },
  'unread-connections': { field: 'unreadConnections', fallback: 10, help: 'resp-unread-replies: connections' },
  'unread-seconds': { field: 'unreadSeconds', fallback: 15, help: 'resp-unread-replies: seconds of pipelining' },
  'unread-value-bytes': { field: 'unreadValueBytes', fallback: 65_536, help: 'resp-unread-replies: value size' },
  'unread-max-commands': {
    field: 'unreadMaxCommands',
    fallback: 500_000,
    help: 'resp-unread-replies: GETs per connection at most',
  },
  'info-names': { field: 'infoNames', fallback: 200_000, help: 'command-info: names in one COMMAND INFO' },
  'info-parallel': { field: 'infoParallel', fallback: 4, help: 'command-info: connections sending it at once' },
  'info-repeats': { field: 'infoRepeats', fallback: 1, help: 'command-info: times each connection sends it' },
  'index-keys': { field: 'indexKeys', fallback: 200_000, help: 'index-hot-key: keys stored' },
  'index-hot-writes': { field: 'indexHotWrites', fallback: 1200, help: 'index-hot-key: writes of the one hot key' },
  'index-log-length': { field: 'indexLogLength', fallback: 1000, help: 'index-hot-key: --log-length of the server' },
  'index-seconds': { field: 'indexSeconds', fallback: 15, help: 'index-hot-key: seconds of GET /' },
  'index-concurrency': { field: 'indexConcurrency', fallback: 4, help: 'index-hot-key: GET / loops at once' },
  'spray-addresses': {
    field: 'sprayAddresses',
    fallback: 64,
    help: 'auth-spray: 127.x.y.z source addresses, used round-robin',
  },
  'spray-seconds': { field: 'spraySeconds', fallback: 20, help: 'auth-spray: seconds of spraying' },
  'spray-concurrency': { field: 'sprayConcurrency', fallback: 64, help: 'auth-spray: requests in flight' },
  'slowloris-connections': {
    field: 'slowlorisConnections',
    fallback: 400,
    help: 'slowloris: connections (half slow headers, half slow body)',
  },
  'slowloris-seconds': { field: 'slowlorisSeconds', fallback: 65, help: 'slowloris: how long they trickle' },
  'disk-size-mib': { field: 'diskSizeMiB', fallback: 16, help: 'disk-full: tmpfs size' },
  'disk-filler-mib': { field: 'diskFillerMiB', fallback: 4, help: 'disk-full: filler file deleted to free space' },
  'disk-value-bytes': { field: 'diskValueBytes', fallback: 65_536, help: 'disk-full: value size of each PUT' },
  'disk-max-puts': { field: 'diskMaxPuts', fallback: 2000, help: 'disk-full: PUTs at most while filling' },
};

/** Options for node:util parseArgs (bench/run.ts spreads these into its own). */
export const attackFlagOptions: Readonly<Record<string, { type: 'string' }>> = Object.fromEntries(
  ['attack', ...Object.keys(attackNumberFlags)].map((name) => [name, { type: 'string' as const }]),
);

export const attackUsage = [
  '  --attack LIST           attacks suite: comma-separated attack names (default: all)',
  ...Object.entries(attackNumberFlags).map(
    ([name, flag]) => `${`  --${name} N`.padEnd(25)} ${flag.help} (default ${flag.fallback})`,
  ),
].join('\n');

export function parseAttackSettings(
  values: Readonly<Record<string, unknown>>,
  known: readonly string[],
): AttackSettings {
  const settings: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(attackNumberFlags)) {
    const text = values[name];
    if (text === undefined) {
      settings[flag.field] = flag.fallback;
      continue;
    }
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`--${name} must be a positive integer, got ${String(text)}`);
    settings[flag.field] = value;
  }
  const listed =
    typeof values.attack === 'string'
      ? values.attack
          .split(',')
          .map((name) => name.trim())
          .filter((name) => name !== '')
      : [...known];
  const unknown = listed.filter((name) => !known.includes(name));
  if (unknown.length > 0 || listed.length === 0)
    throw new Error(`unknown attack(s): ${unknown.join(', ') || '(none given)'}; known: ${known.join(', ')}`);
  settings.attacks = listed;
  return settings as unknown as AttackSettings;
}
