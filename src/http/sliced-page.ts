// A listing answer of many items rendered a slice at a time, with a turn for other clients
// between slices. Describing 1,000 entries, encoding their values in base64 and serializing them
// held the event loop for about 10 ms in one piece (`kvs export`'s pages; measured with
// bench/stall/turn-cpu.ts --http). A slice ends after RENDER_SLICE_ITEMS items or once it has used
// its time (turn-budget.ts), whichever comes first: a few large values take as long as many small
// ones. Between slices the page gives way (model/turn-budget.ts): more turns for other clients
// while they keep the loop busy. The text is what Fastify's serializer gives for the whole page:
// each chunk of items, and the page around them, goes through the route's own serializer.

import type { FastifyReply } from 'fastify';
import { setImmediate as yieldToOthers } from 'node:timers/promises';
import { CLOCK_CHECK_ITEMS, giveWay, TurnBudget, type TurnClock } from '../model/turn-budget.js';

/** Items rendered in one turn at most; a page of at most this many is rendered as one object. */
export const RENDER_SLICE_ITEMS = 128;

/** Items described and serialized together, between two looks at the clock. */
const RENDER_CHUNK_ITEMS = CLOCK_CHECK_ITEMS;

export interface SlicedPage<Item, Json> {
  readonly items: readonly Item[];
  /** One item as the answer shows it. */
  readonly toJson: (item: Item) => Json;
  /** The schema of the whole answer, whose first property is `items`, none of them required. */
  readonly schema: Record<string, unknown>;
  /** The answer's other properties. */
  readonly rest: Record<string, unknown>;
  /** The clock the slices are timed by; performance.now() when unset (tests inject one). */
  readonly clock?: TurnClock;
}

/** Sends the page as JSON: in one piece up to RENDER_SLICE_ITEMS items, else in slices. */
export async function sendPage<Item, Json>(reply: FastifyReply, page: SlicedPage<Item, Json>): Promise<FastifyReply> {
  const { items, toJson } = page;
  if (items.length <= RENDER_SLICE_ITEMS) return reply.send({ items: items.map(toJson), ...page.rest });
  const parts: string[] = [];
  const head = '{"items":[';
  const serialize = (answer: Record<string, unknown>) => {
    const text = reply.serializeInput(answer, page.schema);
    if (!text.startsWith(head))
      throw new Error(`a sliced page's schema must put items first (got ${text.slice(0, 40)})`);
    return text;
  };
  const budget = new TurnBudget(page.clock);
  let renderedThisTurn = 0;
  for (let start = 0; start < items.length; start += RENDER_CHUNK_ITEMS) {
    if (renderedThisTurn >= RENDER_SLICE_ITEMS || (renderedThisTurn > 0 && budget.spent())) {
      await giveWay(yieldToOthers);
      budget.newTurn();
      renderedThisTurn = 0;
    }
    // `{"items":[a,b]}` less what is around a,b: the chunks joined with commas are the array's text.
    const chunk = items.slice(start, start + RENDER_CHUNK_ITEMS);
    parts.push(serialize({ items: chunk.map(toJson) }).slice(head.length, -2));
    renderedThisTurn += chunk.length;
  }
  // `{"items":[],...rest}`: the slices go between its brackets.
  const around = serialize({ items: [], ...page.rest });
  const body = `${head}${parts.join(',')}${around.slice(head.length)}`;
  return reply.type('application/json; charset=utf-8').send(body);
}
