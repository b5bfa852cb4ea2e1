// A full disk (docs/durability.md, "Disk full and I/O errors"): the real server runs with its
// data directory on a 32 MiB tmpfs and with `--unhandled-rejections=strict`, writes until the
// disk is full, and must then: refuse writes with insufficient_storage (507 on HTTP, -ERR on
// RESP) and nothing else, keep serving reads, stay alive, resume writing by itself once space is
// freed (planning from the store, so revisions continue with no gap), and after a restart hold
// every acknowledged write and none of the refused ones.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { tmpfsOrSkip } from './tmpfs.js';

const tmpfs = tmpfsOrSkip(32, 'test/faults/disk-full.test.ts');
const started: ServerProcess[] = [];
after(async () => {
  for (const server of started) await server.stop();
  if (typeof tmpfs !== 'string') tmpfs.unmount();
});

const STRICT = { NODE_OPTIONS: '--unhandled-rejections=strict' };
const UNHANDLED = /unhandled|triggerUncaughtException|uncaught/i;

async function put(
  server: ServerProcess,
  key: string,
  value: string,
): Promise<{ status: number; revision: number; body: string }> {
  const response = await fetch(`${server.url}/v1/kv/${encodeURIComponent(key)}`, {
    method: 'PUT',
    body: value,
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'text/plain' },
  });
  return {
    status: response.status,
    revision: Number(response.headers.get('kvs-revision')),
    body: await response.text(),
  };
}

/** Sends RESP commands on one connection and returns the replies' first lines. */
async function resp(port: number, commands: string[][]): Promise<string[]> {
  const socket = connect(port, '127.0.0.1');
  socket.write(
    commands
      .map(
        (parts) => `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`,
      )
      .join(''),
  );
  let text = '';
  for await (const chunk of socket) {
    text += (chunk as Buffer).toString();
    if (text.split('\r\n').length > commands.length) break;
  }
  socket.destroy();
  return text.split('\r\n').slice(0, commands.length);
}

describe('disk full', { skip: typeof tmpfs === 'string' ? tmpfs : false }, () => {
  it('refuses writes with 507 and -ERR, keeps reading, resumes by itself, loses nothing acknowledged', async () => {
    const root = (tmpfs as Exclude<typeof tmpfs, string>).dir;
    const dataDir = join(root, 'data');
    const filler = join(root, 'filler');
    mkdirSync(dataDir);
    // Freed later, the filler must make room for every acknowledged commit lmdb has not applied
    // when the disk fills (up to UNAPPLIED_BYTES_MAX, 8 MiB, in the WAL and the overlay): with
    // 3 MiB of 16, a run that filled the disk with 112 commits of 40 KB unapplied (4.5 MB) could
    // never resume, and the test failed on a fast machine (lmdb further behind when it filled).
    writeFileSync(filler, Buffer.alloc(12 * 1024 * 1024));
    const server = await startServer({ dataDir, args: ['--resp-port', '0'], env: STRICT });
    started.push(server);

    const acked = new Map<string, string>();
    const refused = new Set<string>();
    let maxRevision = 0;
    let sent = 0;
    // Four concurrent writers, so failed batches also hold several transactions and later
    // batches are planned on failing ones. Bounded: 600 writes.
    await Promise.all(
      Array.from({ length: 4 }, async (_, client) => {
        let refusals = 0;
        while (refusals < 3 && sent < 600) {
          sent++;
          const key = `c${client}/${sent}`;
          const value = `${key}:${randomBytes(30_000).toString('base64')}`;
          const reply = await put(server, key, value);
          if (reply.status === 201) {
            acked.set(key, value);
            maxRevision = Math.max(maxRevision, reply.revision);
          } else {
            assert.equal(reply.status, 507, `a refused write answers 507, got ${reply.status} ${reply.body}`);
            assert.match(reply.body, /"code":"insufficient_storage"/);
            refused.add(key);
            refusals++;
          }
        }
      }),
    );
    assert.ok(refused.size >= 4, `the disk filled up within ${sent} writes`);
    assert.ok(acked.size > 10);

    // Reads keep working, over both protocols, and RESP writes are refused with -ERR.
    const [someKey, someValue] = [...acked][0]!;
    const read = await fetch(`${server.url}/v1/kv/${encodeURIComponent(someKey)}`);
    assert.equal(read.status, 200);
    assert.equal(await read.text(), someValue);
    const [authReply, setReply] = await resp(server.respPort!, [
      ['AUTH', server.token],
      ['SET', 'resp-key', 'x'.repeat(100_000)],
    ]);
    assert.equal(authReply, '+OK');
    assert.match(setReply!, /^-ERR The disk is full/);
    assert.equal(server.child.exitCode, null, 'the server is alive');

    // Space comes back: the next write succeeds with no restart, at the next revision after the
    // last acknowledged one (the plan state was re-read from the store).
    rmSync(filler);
    const resumed = await put(server, 'after-free', 'resumed');
    assert.equal(resumed.status, 201, `writes resume by themselves: ${resumed.body}`);
    assert.equal(resumed.revision, maxRevision + 1);
    acked.set('after-free', 'resumed');

    assert.equal(server.child.exitCode, null, 'the server is alive');
    assert.doesNotMatch(server.output(), UNHANDLED);
    await server.stop();

    const again = await startServer({ dataDir, env: STRICT });
    started.push(again);
    for (const [key, value] of acked) {
      const response = await fetch(`${again.url}/v1/kv/${encodeURIComponent(key)}`);
      assert.equal(response.status, 200, `acknowledged ${key} survives`);
      assert.equal(await response.text(), value);
    }
    for (const key of refused) {
      const response = await fetch(`${again.url}/v1/kv/${encodeURIComponent(key)}`);
      assert.equal(response.status, 404, `refused ${key} was not saved`);
    }
    await again.stop();
    assert.doesNotMatch(again.output(), UNHANDLED);
  });
});
