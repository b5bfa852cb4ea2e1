import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml } from '../../src/http/index-page.js';
import { relativeTime as relativeTimeIn } from '../../src/model/relative-time.js';

// The index page writes its times in English.
const relativeTime = (then: number, now: number) => relativeTimeIn(then, now, 'en');

describe('index page helpers', () => {
  const now = Date.UTC(2026, 10, 25, 12, 0, 0);
  it('writes relative times as people say them', () => {
    assert.equal(relativeTime(now - 3 * 60_000, now), '3 minutes ago');
    assert.equal(relativeTime(now - 1000, now), '1 second ago');
    assert.equal(relativeTime(now, now), 'now');
    assert.equal(relativeTime(now - 2 * 3600_000, now), '2 hours ago');
    assert.equal(relativeTime(now - 24 * 3600_000, now), 'yesterday');
  });
  it('escapes HTML', () => {
    assert.equal(escapeHtml('<a href="x">&\''), '&#60;a href=&#34;x&#34;&#62;&#38;&#39;');
  });
});
