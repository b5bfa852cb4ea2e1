// GET /v1/kv for a token limited to key prefixes on a --private server. The core lists a range of
// the store and then drops the keys the caller may not read, but its cursor (`next`) is the last
// key of the range, readable or not: `?after=p/in&limit=1` answered `{"items":[],"next":"q/out"}`,
// naming a key outside the token's prefixes. Here the listing reads only inside the token's
// prefixes (intersected with the asked prefix), one range after the other in key order, so no
// key the caller may not read is ever seen, in `items` or in `next`. The cost is one engine read
// per token prefix at most (plus one probe each when a page ends exactly at a range's end).

import type { Entry, EntryInfo } from '../core/model.js';
import type { Caller, KvService, Page } from '../core/service.js';

type ListFunction<T> = (prefix: string, after: string | undefined, limit: number) => Promise<Page<T>>;

/** UTF-8 byte order, the order the engines list keys in. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The prefixes that cover exactly the keys under `asked` that one of `allowed` lets through; disjoint, in key order. */
export function readableRanges(asked: string, allowed: readonly string[]): string[] {
  const ranges = new Set<string>();
  for (const prefix of allowed) {
    if (prefix.startsWith(asked)) ranges.add(prefix);
    else if (asked.startsWith(prefix)) ranges.add(asked);
  }
  const list = [...ranges];
  // A range inside another is already listed by it.
  return list.filter((range) => !list.some((other) => other !== range && range.startsWith(other))).sort(byteOrder);
}

async function listInRanges<T extends { key: string }>(ranges: readonly string[], after: string | undefined, limit: number, list: ListFunction<T>): Promise<Page<T>> {
  const items: T[] = [];
  for (let index = 0; index < ranges.length; index++) {
    const range = ranges[index]!;
    // Ranges wholly at or before the cursor give nothing; the engine skips them by itself.
    const page = await list(range, after, limit - items.length);
    items.push(...page.items);
    if (page.next !== null) return { items, next: page.next };
    if (items.length === limit) {
      for (const later of ranges.slice(index + 1)) {
        if ((await list(later, after, 1)).items.length > 0) return { items, next: items[items.length - 1]!.key };
      }
      return { items, next: null };
    }
  }
  return { items, next: null };
}

/** One page of the listing, never naming a key the caller may not read. */
export async function listReadable(
  service: KvService,
  caller: Caller,
  prefix: string,
  after: string | undefined,
  limit: number,
  withValues: boolean,
): Promise<Page<EntryInfo | Entry>> {
  const list: ListFunction<EntryInfo | Entry> = withValues
    ? (range, from, count) => service.listEntries(caller, range, from, count)
    : (range, from, count) => service.list(caller, range, from, count);
  const principal = caller.principal;
  // Public reads, no token (the core refuses it), or a token for every key: the core's page is exact.
  if (!service.privateReads || principal === undefined || principal.unrestricted) return list(prefix, after, limit);
  const ranges = readableRanges(prefix, principal.grant.prefixes);
  if (ranges.length === 0) {
    // Nothing under the asked prefix is readable; the core still checks the limit and the prefix.
    await list(prefix, after, limit);
    return { items: [], next: null };
  }
  return listInRanges(ranges, after, limit, list);
}
