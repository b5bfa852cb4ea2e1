// Random positions for RANDOMKEY on a large store (src/resp/commands/keyspace.ts): a key listing
// started after a random string returns the key at that position. The string is drawn between
// the store's first and greatest keys, digit by digit in the alphabet the two keys use, so that a
// store whose keys share a prefix (`users/00001` ... `users/99999`) is sampled across its whole
// range; drawn from all printable text, most positions fell before such a store's first key and
// RANDOMKEY answered that one key nearly every time. Pure: the random source is a parameter.

/** Code points drawn after the first position where the two keys differ. */
const PROBE_TAIL = 8;
const SURROGATES_START = 0xd800;
const SURROGATES_END = 0xdfff;

function codePoints(text: string): number[] {
  return Array.from(text, (character) => character.codePointAt(0)!);
}

/**
 * A string between `low` and `high` (the store's first and greatest keys, `low` <= `high`): their
 * common prefix, at the first position where they differ a code point drawn uniformly between
 * theirs, then PROBE_TAIL code points drawn uniformly between the smallest and the largest code
 * point either key holds after that position. Keys spread evenly in that alphabet are about
 * equally likely to follow it; it may fall before `low` or after `high`, which only costs a try.
 */
export function probeBetween(low: string, high: string, random: () => number): string {
  const lowPoints = codePoints(low);
  const highPoints = codePoints(high);
  let at = 0;
  while (at < lowPoints.length && at < highPoints.length && lowPoints[at] === highPoints[at]) at++;
  if (at >= highPoints.length) return low;
  const tail = [...lowPoints.slice(at + 1), ...highPoints.slice(at + 1)];
  const draw = (from: number, to: number): number => {
    const point = from + Math.floor(random() * (to - from + 1));
    // A lone surrogate is not text: the next code point after them keeps the order.
    return point >= SURROGATES_START && point <= SURROGATES_END ? SURROGATES_END + 1 : point;
  };
  const probe = lowPoints.slice(0, at);
  probe.push(draw(lowPoints[at] ?? 0, highPoints[at]!));
  if (tail.length > 0) {
    const smallest = Math.min(...tail);
    const largest = Math.max(...tail);
    for (let index = 0; index < PROBE_TAIL; index++) probe.push(draw(smallest, largest));
  }
  return String.fromCodePoint(...probe);
}
