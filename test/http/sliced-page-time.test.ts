// A large page's render slice ends after RENDER_SLICE_ITEMS items or once it has used its time
// (src/http/sliced-page.ts, src/model/turn-budget.ts). With a clock that says every look is a
// millisecond later, every chunk of items ends its slice: the page is rendered over many turns, and
// its text is still byte for byte what Fastify's serializer gives for the whole page at once.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { RENDER_SLICE_ITEMS, sendPage } from '../../src/http/sliced-page.js';

interface Item {
  readonly key: string;
  readonly size: number;
  readonly note: string | null;
}

const itemSchema = {
  type: 'object',
  properties: { key: { type: 'string' }, size: { type: 'integer' }, note: { type: ['string', 'null'] } },
} as const;
const pageSchema = {
  type: 'object',
  properties: { items: { type: 'array', items: itemSchema }, next: { type: ['string', 'null'] } },
} as const;

const ODD = ['"quoted"', 'back\\slash', 'é-accent', '😀-emoji', 'tab\there', '<tag>&', 'line\nbreak'];
const ITEMS: Item[] = Array.from({ length: 2 * RENDER_SLICE_ITEMS + 45 }, (_, index) => ({
  key: `k/${ODD[index % ODD.length]}-${index}`,
  size: index * 37,
  note: index % 4 === 0 ? null : 'x'.repeat(index % 11),
}));

describe('sliced pages ended by time', () => {
  let app: FastifyInstance;
  let baseUrl = '';
  let clockReads = 0;
  let turnsDuringRender = 0;

  before(async () => {
    app = Fastify();
    app.get('/whole', { schema: { response: { 200: pageSchema } } }, async () => ({ items: ITEMS, next: 'k/z' }));
    app.get('/timed', async (_request, reply) => {
      let counting = true;
      let turns = 0;
      const count = () => {
        turns++;
        if (counting) setImmediate(count);
      };
      setImmediate(count);
      try {
        return await sendPage(reply, {
          items: ITEMS,
          toJson: (item) => item,
          schema: pageSchema,
          rest: { next: 'k/z' },
          // Each look at the clock is 1 ms after the previous one: every look ends the slice.
          clock: () => ++clockReads,
        });
      } finally {
        counting = false;
        turnsDuringRender = turns;
      }
    });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = address;
  });

  after(async () => {
    await app.close();
  });

  it('renders over many turns and answers byte for byte what one serialization gives', async () => {
    const whole = await fetch(`${baseUrl}/whole`);
    const timed = await fetch(`${baseUrl}/timed`);
    assert.equal(timed.status, 200);
    assert.equal(timed.headers.get('content-type'), whole.headers.get('content-type'));
    const [wholeText, timedText] = [await whole.text(), await timed.text()];
    assert.equal(timedText, wholeText);
    assert.equal((JSON.parse(timedText) as { items: Item[] }).items.length, ITEMS.length);
    // By count alone the page is 3 slices; by time each chunk of a few items is one.
    assert.ok(clockReads >= 20, `the clock was read ${clockReads} times`);
    assert.ok(turnsDuringRender >= 20, `only ${turnsDuringRender} turns passed while the page was rendered`);
  });
});
