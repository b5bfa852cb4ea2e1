// The scale suite's pure helpers (bench/scale/scale-store.ts): the key names match what the
// loader writes, the sampled keys exist, and each listing prefix fills a whole page.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchKeys } from '../../bench/lib/request-set.js';
import {
  SCALE_PREFIX,
  parseResidentSet,
  parseVmRss,
  randomKeys,
  randomPrefixes,
  scaleKey,
  seededRandom,
} from '../../bench/scale/scale-store.js';

test('scaleKey names the same keys the loader writes', () => {
  for (const count of [1, 10, 1000, 12345]) {
    const keys = benchKeys(count, SCALE_PREFIX);
    for (const index of [0, Math.floor(count / 2), count - 1]) assert.equal(scaleKey(index, count), keys[index]);
  }
});

test('random keys exist and every listing prefix holds at least a full page', () => {
  const count = 100_000;
  const keys = benchKeys(count, SCALE_PREFIX);
  const present = new Set(keys);
  const random = seededRandom(7);
  for (const key of randomKeys(count, 500, random)) assert.ok(present.has(key), key);
  for (const prefix of randomPrefixes(count, 50, 100, random)) {
    const matching = keys.filter((key) => key.startsWith(prefix)).length;
    assert.ok(matching >= 100, `${prefix} holds ${matching}`);
  }
});

test('parseVmRss reads the VmRSS line in bytes', () => {
  assert.equal(parseVmRss('Name:\tnode\nVmRSS:\t   93400 kB\nThreads:\t11\n'), 93400 * 1024);
  assert.equal(parseVmRss('Name:\tnode\n'), undefined);
});

test('parseResidentSet splits VmRSS into its anonymous and file-mapped parts', () => {
  const status = 'VmRSS:\t  300 kB\nRssAnon:\t  100 kB\nRssFile:\t  190 kB\nRssShmem:\t  10 kB\n';
  assert.deepEqual(parseResidentSet(status), { rss: 300 * 1024, anon: 100 * 1024, file: 190 * 1024 });
});
