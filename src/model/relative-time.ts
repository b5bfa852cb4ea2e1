// "3 minutes ago", "in 2 hours": how the server's index page and the web UI show times. The web
// UI compiles this file too.

const units: readonly (readonly [Intl.RelativeTimeFormatUnit, number])[] = [
  ['year', 365 * 24 * 3600_000],
  ['month', 30 * 24 * 3600_000],
  ['week', 7 * 24 * 3600_000],
  ['day', 24 * 3600_000],
  ['hour', 3600_000],
  ['minute', 60_000],
  ['second', 1000],
];
const second = units[units.length - 1]!;

const formats = new Map<string | undefined, Intl.RelativeTimeFormat>();

/**
 * `then` relative to `now` (both ms since the epoch) in the largest unit it reaches, rounded;
 * under a second in seconds ("now" when it rounds to 0). `locale`: undefined for the runtime's own.
 */
export function relativeTime(then: number, now: number, locale?: string): string {
  let format = formats.get(locale);
  if (format === undefined) {
    format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
    formats.set(locale, format);
  }
  const delta = then - now;
  const [unit, size] = units.find(([, size]) => Math.abs(delta) >= size) ?? second;
  return format.format(Math.round(delta / size), unit);
}
