// INCRBYFLOAT as Redis 7.0 computes it: Redis parses with strtold, adds in C `long double` (on
// x86-64 the 80-bit x87 format: a 64-bit significand) and prints with "%.17Lf" before trimming
// trailing zeros. A JavaScript double gives different digits ("10.5" + "0.1" would print
// 10.59999999999999964 with %.17f), so the arithmetic is emulated exactly with BigInt:
// correctly rounded parse, correctly rounded addition, exact decimal printing.

const PRECISION = 64n;
const PRECISION_NUMBER = 64;
/** Largest finite value is just below 2^16384. */
const MAX_BINARY_EXPONENT = 16384;
/** Longest input Redis accepts (MAX_LONG_DOUBLE_CHARS). */
const MAX_CHARS = 5 * 1024;

/** A finite long double: (-1)^negative * significand * 2^exponent, significand < 2^64. */
export interface LongDouble {
  readonly negative: boolean;
  readonly significand: bigint;
  readonly exponent: number;
}

export type ParsedLongDouble = LongDouble | 'inf' | '-inf';

function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

/** Rounds significand * 2^exponent to 64 significant bits, ties to even. */
function roundToPrecision(negative: boolean, significand: bigint, exponent: number, sticky = false): LongDouble {
  const bits = bitLength(significand);
  if (bits <= PRECISION_NUMBER) return { negative, significand, exponent };
  const shift = BigInt(bits - PRECISION_NUMBER);
  let kept = significand >> shift;
  const dropped = significand & ((1n << shift) - 1n);
  const half = 1n << (shift - 1n);
  if (dropped > half || (dropped === half && (sticky || (kept & 1n) === 1n))) kept += 1n;
  let resultExponent = exponent + Number(shift);
  if (kept >> PRECISION !== 0n) {
    kept >>= 1n;
    resultExponent += 1;
  }
  return { negative, significand: kept, exponent: resultExponent };
}

function isOverflow(value: LongDouble): boolean {
  return value.significand !== 0n && bitLength(value.significand) + value.exponent > MAX_BINARY_EXPONENT;
}

/** Correctly rounded numerator / denominator (both > 0) as a long double. */
function fromRatio(negative: boolean, numerator: bigint, denominator: bigint): LongDouble {
  // Scale so the quotient has 65+ bits, then round with the remainder as a sticky bit.
  let shift = PRECISION_NUMBER + 2 - (bitLength(numerator) - bitLength(denominator));
  if (shift < 0) shift = 0;
  const scaled = numerator << BigInt(shift);
  const quotient = scaled / denominator;
  const remainder = scaled - quotient * denominator;
  return roundToPrecision(negative, quotient, -shift, remainder !== 0n);
}

/**
 * Redis's string2ld: strtold over the whole string, no leading space, NaN refused, overflow and
 * underflow to zero refused. undefined when invalid.
 */
export function parseLongDouble(text: string): ParsedLongDouble | undefined {
  if (text.length === 0 || text.length >= MAX_CHARS) return undefined;
  const match =
    /^([+-]?)(?:(inf(?:inity)?)|0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?|([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?)$/i.exec(
      text,
    );
  if (match === null) return undefined;
  const negative = match[1] === '-';
  if (match[2] !== undefined) return negative ? '-inf' : 'inf';
  let result: LongDouble;
  if (text.replace(/^[+-]/, '').toLowerCase().startsWith('0x')) {
    const integerDigits = match[3] ?? '';
    const fractionDigits = match[4] ?? '';
    if (integerDigits === '' && fractionDigits === '') return undefined;
    const significand = BigInt(`0x${integerDigits}${fractionDigits}`);
    const binaryExponent = match[5] === undefined ? 0 : clampExponent(match[5]);
    if (significand === 0n) return { negative, significand: 0n, exponent: 0 };
    const exponent = binaryExponent - 4 * fractionDigits.length;
    if (bitLength(significand) + exponent > MAX_BINARY_EXPONENT + 8) return undefined; // overflow: ERANGE
    if (bitLength(significand) + exponent < -16500) return undefined;
    result = roundToPrecision(negative, significand, exponent);
  } else {
    const integerDigits = match[6] ?? '';
    const fractionDigits = match[7] ?? '';
    if (integerDigits === '' && fractionDigits === '') return undefined;
    const digits = (integerDigits + fractionDigits).replace(/^0+/, '');
    if (digits === '') return { negative, significand: 0n, exponent: 0 };
    const decimalExponent = (match[8] === undefined ? 0 : clampExponent(match[8])) - fractionDigits.length;
    // Magnitude in decimal digits: beyond the long double range either way.
    const magnitude = digits.length + decimalExponent;
    if (magnitude > 4934) return undefined; // overflows to HUGE_VAL: strtold reports ERANGE
    if (magnitude < -4952) return undefined; // underflows to zero: strtold reports ERANGE
    const mantissa = BigInt(digits);
    if (decimalExponent >= 0) result = roundToPrecision(negative, mantissa * 10n ** BigInt(decimalExponent), 0);
    else result = fromRatio(negative, mantissa, 10n ** BigInt(-decimalExponent));
  }
  if (isOverflow(result)) return undefined;
  return result;
}

function clampExponent(text: string): number {
  const value = Number(text);
  return Math.max(-1_000_000, Math.min(1_000_000, value));
}

/** a + b rounded to a long double; undefined when the sum is infinite. */
export function addLongDouble(a: ParsedLongDouble, b: ParsedLongDouble): LongDouble | undefined {
  if (typeof a === 'string' || typeof b === 'string') return undefined;
  if (a.significand === 0n && b.significand === 0n) {
    return { negative: a.negative && b.negative, significand: 0n, exponent: 0 };
  }
  if (a.significand === 0n) return b;
  if (b.significand === 0n) return a;
  const exponent = Math.min(a.exponent, b.exponent);
  const left = (a.negative ? -a.significand : a.significand) << BigInt(a.exponent - exponent);
  const right = (b.negative ? -b.significand : b.significand) << BigInt(b.exponent - exponent);
  const sum = left + right;
  if (sum === 0n) return { negative: false, significand: 0n, exponent: 0 };
  const result = roundToPrecision(sum < 0n, sum < 0n ? -sum : sum, exponent);
  return isOverflow(result) ? undefined : result;
}

/** printf("%.17Lf") followed by Redis's trimming of trailing zeros (and "-0" to "0"). */
export function formatLongDoubleHuman(value: LongDouble): string {
  const scale = 10n ** 17n;
  let scaled: bigint;
  if (value.exponent >= 0) {
    scaled = (value.significand << BigInt(value.exponent)) * scale;
  } else {
    const shift = BigInt(-value.exponent);
    const numerator = value.significand * scale;
    scaled = numerator >> shift;
    const remainder = numerator - (scaled << shift);
    const half = 1n << (shift - 1n);
    if (remainder > half || (remainder === half && (scaled & 1n) === 1n)) scaled += 1n;
  }
  const digits = scaled.toString().padStart(18, '0');
  let text = `${value.negative ? '-' : ''}${digits.slice(0, -17)}.${digits.slice(-17)}`;
  text = text.replace(/0+$/, '').replace(/\.$/, '');
  return text === '-0' ? '0' : text;
}
