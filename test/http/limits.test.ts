// Every limit has a number, an error and a test; nothing is partially saved (docs/limits.md).
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { authed } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

/**
 * Sends `text` on a new connection and resolves with everything the server answered, once the
 * connection closes (or, given `until`, once the answer matches it). A server that answers before
 * it has read the whole request may close the connection while the rest is still being sent (a
 * reset or broken pipe on our side): that is an answer, not a failure, once the answer has arrived.
 */
function rawRequest(port: number, text: string, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const finish = () => {
      socket.destroy();
      resolve(answer);
    };
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (until?.test(answer)) finish();
    });
    socket.on('close', finish);
    socket.on('error', (error) => (answer === '' ? reject(error) : finish()));
    socket.write(text);
  });
}

/**
 * Sends a head that asks `Expect: 100-continue`, sends `body` once the 100 arrives, and resolves
 * with everything answered once the final answer's body (JSON or text) has arrived.
 */
function afterContinue(port: number, head: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let sent = false;
    const finish = () => {
      socket.destroy();
      resolve(answer);
    };
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (!sent && answer.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        sent = true;
        socket.write(body);
      }
      const final = /HTTP\/1\.1 [2-5]\d\d [\s\S]*?content-length: (\d+)\r\n[\s\S]*?\r\n\r\n([\s\S]*)$/i.exec(answer);
      if (final !== null && Buffer.byteLength(final[2]!) >= Number(final[1])) finish();
    });
    socket.on('close', finish);
    socket.on('error', (error) => (answer === '' ? reject(error) : finish()));
    socket.write(head);
  });
}

describe('limits with the default numbers', () => {
  const server = useServer();
  const put = (key: string, body: string | Buffer) =>
    fetch(`${server.url}/v1/kv/${encodeURIComponent(key)}`, authed(server, { method: 'PUT', body }));

  it('keys: 1024 UTF-8 bytes pass, 1025 are key_too_long (counted in bytes, not characters)', async () => {
    assert.equal((await put('k'.repeat(1024), 'v')).status, 201);
    const ascii = await put('k'.repeat(1025), 'v');
    assert.equal(ascii.status, 400);
    assert.equal(await errorCode(ascii), 'key_too_long');
    // 342 three-byte characters = 1026 bytes but only 342 characters.
    const wide = await put('€'.repeat(342), 'v');
    assert.equal(wide.status, 400);
    assert.equal((await put('€'.repeat(341), 'v')).status, 201);
  });

  it('keys must be valid UTF-8 and non-empty', async () => {
    const lone = await fetch(`${server.url}/v1/kv/%ED%A0%80`, authed(server, { method: 'PUT', body: 'v' }));
    assert.equal(lone.status, 400);
    assert.equal(await errorCode(lone), 'invalid_key');
    const badEscape = await fetch(`${server.url}/v1/kv/%FF`, authed(server, { method: 'PUT', body: 'v' }));
    assert.equal(await errorCode(badEscape), 'invalid_key');
    const empty = await fetch(`${server.url}/v1/kv/`, authed(server, { method: 'PUT', body: 'v' }));
    assert.equal(empty.status, 400);
  });

  it('values: 1 MiB passes, 1 MiB + 1 byte is value_too_large (413) and nothing is saved', async () => {
    assert.equal((await put('big', Buffer.alloc(1024 * 1024, 1))).status, 201);
    const tooBig = await put('too-big', Buffer.alloc(1024 * 1024 + 1, 1));
    assert.equal(tooBig.status, 413);
    assert.equal(await errorCode(tooBig), 'value_too_large');
    assert.equal((await fetch(`${server.url}/v1/kv/too-big`)).status, 404);
  });

  it('bodies: a seed POST over 2 MiB is body_too_large and saves none of its pairs', async () => {
    // The head (its Content-Length over 2 MiB) and the first 64 KiB of the form, which hold
    // `small=x`: the server answers 413 from the length alone.
    const form = new URLSearchParams({ small: 'x', large: 'y'.repeat(2 * 1024 * 1024), auth: server.token }).toString();
    const answer = await rawRequest(
      server.port,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(form)}\r\n\r\n${form.slice(0, 64 * 1024)}`,
      /body_too_large/,
    );
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /body_too_large/);
    assert.equal((await fetch(`${server.url}/?k=small`)).status, 404);
  });

  it('a body refused from its declared length is read to its end, so the client gets its 413 (10 of 10 tries)', async () => {
    // Closing at once met the upload still going: the reset threw away the answer, and fetch
    // failed in 20 of 30 tries with a 3 MiB form (src/http/refused-body.ts).
    const form = new URLSearchParams({ small: 'x', large: 'y'.repeat(3 * 1024 * 1024), auth: server.token }).toString();
    const value = Buffer.alloc(4 * 1024 * 1024, 1);
    for (let attempt = 0; attempt < 10; attempt++) {
      const posted = await fetch(`${server.url}/`, {
        method: 'POST',
        body: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(posted.status, 413);
      assert.match(await posted.text(), /\(body_too_large\)/);
      const put = await fetch(`${server.url}/v1/kv/refused`, authed(server, { method: 'PUT', body: value }));
      assert.equal(put.status, 413);
      assert.equal(await errorCode(put), 'value_too_large');
    }
    assert.equal((await fetch(`${server.url}/?k=small`)).status, 404);
    assert.equal((await fetch(`${server.url}/v1/kv/refused`)).status, 404);
  });

  it('after a refused body is read, the same connection answers the next request', async () => {
    const body = 'v'.repeat(3 * 1024 * 1024);
    const answer = await rawRequest(
      server.port,
      `PUT /v1/kv/refused-then-more HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\nContent-Length: ${body.length}\r\n\r\n${body}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`,
      /HTTP\/1\.1 200 [\s\S]*\r\n\r\n[\s\S]+/,
    );
    assert.match(answer, /^HTTP\/1\.1 413 [\s\S]*value_too_large[\s\S]*HTTP\/1\.1 200 /);
    assert.doesNotMatch(answer.split('HTTP/1.1 200')[0]!, /connection: close/i);
  });

  it('a declared body over 64 MiB, or a chunked one, is not read: the answer and then the connection closes', async () => {
    // rawRequest resolves only once the server closes: a server that went on reading would hang it.
    // Each sends no more than the server reads before it refuses, so no reset can take the answer.
    const declared = await rawRequest(
      server.port,
      `PUT /v1/kv/huge HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\nContent-Length: ${64 * 1024 * 1024 + 1}\r\n\r\n${'v'.repeat(1024)}`,
    );
    assert.match(declared, /^HTTP\/1\.1 413 [\s\S]*connection: close[\s\S]*value_too_large/i);
    const chunk = 'v'.repeat(64 * 1024);
    const chunked = await rawRequest(
      server.port,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n${`${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(33)}`,
    );
    assert.match(chunked, /^HTTP\/1\.1 413 [\s\S]*connection: close[\s\S]*body_too_large/i);
    assert.equal((await fetch(`${server.url}/v1/kv/huge`)).status, 404);
  });

  it('Expect: 100-continue: a body refused from its declared length gets its 413 in place of the 100', async () => {
    // Without the checkContinue listener Node answered 100 at once and the client sent it all.
    const put = await rawRequest(
      server.port,
      `PUT /v1/kv/expected HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\nExpect: 100-continue\r\nContent-Length: ${1536 * 1024}\r\n\r\n`,
    );
    assert.match(put, /^HTTP\/1\.1 413 [\s\S]*value_too_large/);
    assert.doesNotMatch(put, /100 Continue/);
    const post = await rawRequest(
      server.port,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\nContent-Length: ${3 * 1024 * 1024}\r\n\r\n`,
    );
    assert.match(post, /^HTTP\/1\.1 413 [\s\S]*body_too_large/);
    assert.equal((await fetch(`${server.url}/v1/kv/expected`)).status, 404);
  });

  it('Expect: 100-continue: a body its route takes gets the 100, then is stored', async () => {
    // 1.4 MiB is over the value limit but under the seed POST's 2 MiB: the route decides.
    const pair = 'z'.repeat(700 * 1024);
    const form = new URLSearchParams({ continued: pair, other: pair, auth: server.token }).toString();
    const answer = await afterContinue(
      server.port,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\nContent-Length: ${form.length}\r\n\r\n`,
      form,
    );
    assert.match(answer, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    const small = await afterContinue(
      server.port,
      `PUT /v1/kv/continued-put HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n`,
      'hello',
    );
    assert.match(small, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /);
    assert.equal((await (await fetch(`${server.url}/?k=other`)).text()).length, 700 * 1024);
    assert.equal(await (await fetch(`${server.url}/v1/kv/continued-put`)).text(), 'hello');
  });

  it('URLs: longer than 8192 bytes is uri_too_long (414); headers over 16 KiB are refused by Node with 431', async () => {
    const long = await fetch(`${server.url}/v1/kv/${'u'.repeat(9000)}`);
    assert.equal(long.status, 414);
    assert.equal(await errorCode(long), 'uri_too_long');
    const answer = await rawRequest(
      server.port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(17 * 1024)}\r\n\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 431 /);
  });

  it('content types: longer than 255 bytes is refused', async () => {
    const response = await fetch(
      `${server.url}/v1/kv/typed`,
      authed(server, { method: 'PUT', body: 'v', headers: { 'content-type': `x/${'y'.repeat(300)}` } }),
    );
    assert.equal(response.status, 400);
    assert.equal((await fetch(`${server.url}/v1/kv/typed`)).status, 404);
  });

  it('listing: a limit above 1000 is refused', async () => {
    const response = await fetch(`${server.url}/v1/kv?limit=1001`);
    assert.equal(response.status, 400);
  });
});

describe('limits set by flags', () => {
  const server = useServer({
    args: ['--max-batch', '5', '--max-connections', '4', '--headers-timeout-ms', '500', '--request-timeout-ms', '1000'],
  });

  it('batch: a seed POST with more pairs than --max-batch is batch_too_large and saves nothing', async () => {
    const pairs = Object.fromEntries(Array.from({ length: 6 }, (_, index) => [`pair${index}`, String(index)]));
    const response = await fetch(server.url, {
      method: 'POST',
      body: new URLSearchParams({ ...pairs, auth: server.token }),
    });
    assert.equal(response.status, 413);
    assert.match(await response.text(), /batch_too_large/);
    assert.equal((await fetch(`${server.url}/?k=pair0`)).status, 404);
    const ok = await fetch(server.url, {
      method: 'POST',
      body: new URLSearchParams({ pair0: '0', auth: server.token }),
    });
    assert.equal(ok.status, 200);
    const list = await fetch(`${server.url}/?k=a,b,c,d,e,f`);
    assert.equal(list.status, 413);
    const txn = await fetch(
      `${server.url}/v1/txn`,
      authed(server, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          operations: Array.from({ length: 6 }, (_, index) => ({ op: 'put', key: `t${index}`, value: 'v' })),
        }),
      }),
    );
    assert.equal(txn.status, 413);
    assert.equal((await fetch(`${server.url}/v1/kv/t0`)).status, 404);
  });

  it('connections: past --max-connections a new connection gets 503 too_many_connections; the others keep working', async () => {
    const sockets: Socket[] = [];
    try {
      for (let index = 0; index < 4; index++) {
        const socket = connect(server.port, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        sockets.push(socket);
      }
      const refused = await rawRequest(server.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match(refused, /^HTTP\/1\.1 503 /);
      assert.match(refused, /too_many_connections/);
      // An already-open connection is still served.
      const first = sockets[0]!;
      const answer = new Promise<string>((resolve) => first.once('data', (chunk) => resolve(chunk.toString())));
      first.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match(await answer, /^HTTP\/1\.1 200 /);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    // Once they are gone, new connections are accepted again.
    let healthy = false;
    for (let attempt = 0; attempt < 50 && !healthy; attempt++) {
      healthy = (
        await rawRequest(server.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      ).startsWith('HTTP/1.1 200');
      if (!healthy) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(healthy);
  });

  it('slow clients: one that never finishes its headers is answered 408 and disconnected while others are served', async () => {
    const slow = connect(server.port, '127.0.0.1');
    let answer = '';
    slow.on('data', (chunk) => (answer += chunk.toString()));
    const closed = new Promise<void>((resolve) => slow.on('close', () => resolve()));
    slow.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const fast = await fetch(`${server.url}/healthz`);
    assert.equal(fast.status, 200);
    await closed;
    assert.match(answer, /^HTTP\/1\.1 408 /);
  });
});
