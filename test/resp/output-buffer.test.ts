import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COPY_LIMIT_BYTES, OutputBuffer } from '../../src/resp/output-buffer.js';
import { keyIndexCount, keyIndexes, type KeyPositions } from '../../src/resp/command.js';

/** A small deterministic generator (mulberry32), so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('RESP output buffer', () => {
  it('hands over exactly the bytes written, in order, whatever their sizes', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const next = random(seed);
      const output = new OutputBuffer();
      const expected: Buffer[] = [];
      const large: Buffer[] = [];
      for (let round = 0; round < 3; round++) {
        const pieces = 1 + Math.floor(next() * 60);
        for (let piece = 0; piece < pieces; piece++) {
          const kind = next();
          if (kind < 0.5) {
            // Text: short (copied char by char), longer (copied natively), every latin1 char.
            const length = next() < 0.7 ? Math.floor(next() * 40) : Math.floor(next() * 5000);
            let text = '';
            for (let index = 0; index < length; index++) text += String.fromCharCode(Math.floor(next() * 256));
            output.text(text);
            expected.push(Buffer.from(text, 'latin1'));
          } else {
            // Bytes: small, around the copy limit, or large (kept by reference).
            const choice = next();
            const length =
              choice < 0.6
                ? Math.floor(next() * 300)
                : choice < 0.8
                  ? COPY_LIMIT_BYTES - 2 + Math.floor(next() * 4)
                  : Math.floor(next() * 70_000);
            const bytes = Buffer.alloc(length);
            for (let index = 0; index < length; index++) bytes[index] = Math.floor(next() * 256);
            output.bytes(bytes);
            expected.push(bytes);
            if (length > COPY_LIMIT_BYTES) large.push(bytes);
          }
        }
        const want = Buffer.concat(expected);
        assert.equal(output.length, want.length, `seed ${seed}: length before take`);
        const segments = output.take();
        assert.ok(Buffer.concat(segments).equals(want), `seed ${seed} round ${round}: bytes differ`);
        assert.equal(output.length, 0);
        // Large values go out as the very Buffers written, not copies.
        for (const value of large) assert.ok(segments.includes(value), `seed ${seed}: a large value was copied`);
        expected.length = 0;
        large.length = 0;
      }
    }
  });

  it('is empty after clear() and after take() of nothing', () => {
    const output = new OutputBuffer();
    assert.deepEqual(output.take(), []);
    output.text('+OK\r\n');
    output.bytes(Buffer.alloc(COPY_LIMIT_BYTES + 1));
    output.clear();
    assert.equal(output.length, 0);
    assert.deepEqual(output.take(), []);
    output.text(':1\r\n');
    assert.equal(Buffer.concat(output.take()).toString('latin1'), ':1\r\n');
  });
});

describe('RESP key positions', () => {
  it('counts the keys keyIndexes finds, for every position spec and argument count', () => {
    for (let first = 1; first <= 3; first++) {
      for (let last = -3; last <= 4; last++) {
        for (let step = 1; step <= 3; step++) {
          const positions: KeyPositions = { first, last, step };
          for (let argCount = 1; argCount <= 9; argCount++) {
            const indexes = keyIndexes(positions, argCount);
            assert.equal(keyIndexCount(positions, argCount), indexes.length, JSON.stringify({ positions, argCount }));
            indexes.forEach((index, position) => assert.equal(index, first + position * step));
          }
        }
      }
    }
    assert.equal(keyIndexCount(undefined, 5), 0);
  });
});
