// A strict parser of the Prometheus text exposition format (version 0.0.4), for tests: every line
// must be a HELP, a TYPE or a sample of a declared family, names and labels must be well formed,
// no series may appear twice, and histograms must be consistent (le ascending to +Inf,
// cumulative counts, +Inf bucket = _count). Anything else throws, naming the line.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name (`x_bucket`, `x_sum`, ... for a histogram family `x`). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: ['', '_total'],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/**
 * Prometheus reads sample values with Go's strconv.ParseFloat, which matches NaN and Inf in any
 * letter case; prom-client writes NaN as "Nan" (lib/util.js), for instance the event-loop lag mean
 * before its first sample, so this parser accepts the same spellings Prometheus does.
 */
function parseValue(text: string, where: string): number {
  const special = text.toLowerCase();
  if (special === '+inf' || special === 'inf') return Number.POSITIVE_INFINITY;
  if (special === '-inf') return Number.NEGATIVE_INFINITY;
  if (special === 'nan') return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad value ${text}`);
  return Number(text);
}

/** `{a="x",b="y\"z"}` from position 0 of `text`: the labels and where the block ends. */
function parseLabels(text: string, where: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let position = 1;
  for (;;) {
    if (text[position] === '}') return { labels, end: position + 1 };
    const equals = text.indexOf('=', position);
    if (equals < 0) throw new Error(`${where}: unterminated labels`);
    const name = text.slice(position, equals);
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    if (text[equals + 1] !== '"') throw new Error(`${where}: label ${name} value not quoted`);
    let value = '';
    let index = equals + 2;
    for (; ; index++) {
      const char = text[index];
      if (char === undefined) throw new Error(`${where}: unterminated label value`);
      if (char === '"') break;
      if (char === '\\') {
        const next = text[++index];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`${where}: bad escape \\${next}`);
      } else value += char;
    }
    labels[name] = value;
    position = index + 1;
    if (text[position] === ',') position++;
    else if (text[position] !== '}') throw new Error(`${where}: expected , or } after label ${name}`);
  }
}

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: bucket without le`);
      entry.buckets.push([parseValue(le, family.name), sample.value]);
    } else if (sample.name.endsWith('_count')) entry.count = sample.value;
  }
  for (const [key, { buckets, count }] of series) {
    for (let index = 1; index < buckets.length; index++) {
      if (!(buckets[index]![0] > buckets[index - 1]![0])) throw new Error(`${family.name}${key}: le not ascending`);
      if (buckets[index]![1] < buckets[index - 1]![1]) throw new Error(`${family.name}${key}: counts not cumulative`);
    }
    const last = buckets.at(-1);
    if (last === undefined || last[0] !== Number.POSITIVE_INFINITY) throw new Error(`${family.name}${key}: no +Inf`);
    if (last[1] !== count) throw new Error(`${family.name}${key}: +Inf bucket ${last[1]} != _count ${count}`);
  }
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  const seen = new Set<string>();
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, index) => {
    const where = `line ${index + 1} (${JSON.stringify(line)})`;
    if (line === '') return;
    if (line.startsWith('# HELP ')) {
      const [, name, help = ''] = /^# HELP (\S+)(?: (.*))?$/.exec(line) ?? [];
      if (name === undefined || !METRIC_NAME.test(name)) throw new Error(`${where}: bad HELP`);
      if (helps.has(name)) throw new Error(`${where}: second HELP for ${name}`);
      helps.set(name, help);
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const [, name, type] = /^# TYPE (\S+) (\S+)$/.exec(line) ?? [];
      if (name === undefined || !METRIC_NAME.test(name) || !TYPES.has(type!)) throw new Error(`${where}: bad TYPE`);
      if (families.has(name)) throw new Error(`${where}: second TYPE for ${name}`);
      families.set(name, { name, type: type as MetricType, help: helps.get(name) ?? '', samples: [] });
      return;
    }
    if (line.startsWith('#')) return;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (name === undefined) throw new Error(`${where}: not a sample`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const parsed = parseLabels(rest, where);
      labels = parsed.labels;
      rest = rest.slice(parsed.end);
    }
    const fields = rest.split(' ');
    if (fields[0] !== '' || fields.length < 2 || fields.length > 3)
      throw new Error(`${where}: expected " value [timestamp]"`);
    const value = parseValue(fields[1]!, where);
    const family = [...families.values()].find((candidate) =>
      SUFFIXES[candidate.type].some((suffix) => candidate.name + suffix === name),
    );
    if (family === undefined) throw new Error(`${where}: sample of no declared family`);
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(series)) throw new Error(`${where}: series twice`);
    seen.add(series);
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when none. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      if (Object.entries(labels).every(([label, value]) => sample.labels[label] === value)) return sample.value;
    }
  }
  return undefined;
}
