// A connection answers a command the same whether it is the first one the connection sees, one
// of a pipelined batch, or arrives in pieces: the per-connection shortcuts of the read path (the
// remembered command name, the reply bytes batched per socket write, the synchronous reads) must
// not change a byte. Each sequence is answered once command by command, every command on a fresh
// connection (nothing remembered), and that is the reference for the same sequence pipelined in
// one write, split in two at every byte, and sent one byte per write.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { encodeCommand, readReply, RespTestClient } from './resp-test-client.js';
import { startInProcessServer, tokens, type InProcessServer } from './in-process-server.js';

type Command = readonly (string | Buffer)[];

const binary = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
/** Larger than the output buffer's copy limit: written to the socket by reference. */
const big = Buffer.alloc(40_000, 'v');
const invalidUtf8Key = Buffer.from([0x6b, 0xff, 0xfe]);

/** Reads do not change the store; the writes here write what is already there. */
const sequence: Command[] = [
  ['GET', 'str'],
  ['get', 'str'],
  ['GeT', 'str'],
  ['GET', 'missing'],
  ['GET', 'soon'],
  ['GET', 'bin'],
  ['GET', 'big'],
  ['GET', 'str', 'extra'],
  ['GET'],
  ['GETX', 'str'],
  ['LPUSH', 'list', 'a'],
  ['GET', invalidUtf8Key],
  ['GET', ''],
  ['MGET', 'str', 'missing', 'soon', 'bin'],
  ['mget', 'big', 'str'],
  ['STRLEN', 'big'],
  ['EXISTS', 'str', 'soon', 'missing'],
  ['TTL', 'str'],
  ['TTL', 'soon'],
  ['GETRANGE', 'bin', '250', '-1'],
  ['GETRANGE', 'bin', 'x', '1'],
  ['INCR', 'str'],
  ['INCRBY', 'num', '0'],
  ['SET', 'str', 'hello'],
  ['GET', 'str'],
  ['PING'],
  ['ECHO', binary],
  ['get', 'num'],
  ['GET', 'num'],
];

/** AUTH first when the scenario has a token; the reference connection sends it too. */
interface Scenario {
  readonly name: string;
  readonly token: string | undefined;
}

const scenarios: Scenario[] = [
  { name: 'without a token (writes need authentication)', token: undefined },
  { name: 'with a read token (writes denied)', token: tokens.read },
  { name: 'with an admin token', token: tokens.admin },
];

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.off('error', reject);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Collects what the socket receives until `length` bytes came (or the connection closed). */
function receive(socket: Socket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`got ${received} of ${length} bytes: ${Buffer.concat(chunks).toString('latin1').slice(0, 500)}`),
      );
    }, 10_000);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= length) done();
    });
    socket.on('close', done);
    socket.on('error', () => {});
  });
}

/** The reply bytes of one command sent alone on a fresh connection (after AUTH, when given). */
async function answerAlone(port: number, token: string | undefined, command: Command): Promise<Buffer> {
  const socket = await open(port);
  const chunks: Buffer[] = [];
  const replies = token === undefined ? 1 : 2;
  const whole = new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reply in 10 s')), 10_000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const bytes = Buffer.concat(chunks);
      let offset = 0;
      for (let count = 0; count < replies; count++) {
        const parsed = readReply(bytes, offset);
        if (parsed === undefined) return;
        offset = parsed.next;
      }
      clearTimeout(timer);
      resolve(bytes);
    });
  });
  if (token !== undefined) socket.write(encodeCommand(['AUTH', token]));
  socket.write(encodeCommand(command));
  const bytes = await whole;
  socket.destroy();
  if (token === undefined) return bytes;
  const auth = readReply(bytes, 0)!;
  assert.deepEqual(auth.value, { type: 'simple', value: 'OK' });
  return bytes.subarray(auth.next);
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('RESP replies do not depend on how the commands arrive', () => {
  let server: InProcessServer;
  let now = Date.UTC(2026, 0, 1);

  before(async () => {
    server = await startInProcessServer({ engine: 'lmdb', clock: () => now });
    const admin = await RespTestClient.connect(server.port);
    assert.equal(await admin.do('AUTH', tokens.admin), '+OK');
    assert.equal(await admin.do('SET', 'str', 'hello'), '+OK');
    assert.equal(await admin.do('SET', 'num', '41'), '+OK');
    assert.equal(await admin.do('SET', 'bin', binary), '+OK');
    assert.equal(await admin.do('SET', 'big', big), '+OK');
    assert.equal(await admin.do('SET', 'soon', 'gone', 'PX', '1000'), '+OK');
    admin.close();
    now += 2000; // `soon` has expired
  });

  after(async () => {
    await server?.close();
  });

  for (const scenario of scenarios) {
    it(`answers pipelined and split batches as it answers lone commands, ${scenario.name}`, async () => {
      const { port } = server;
      const alone: Buffer[] = [];
      for (const command of sequence) alone.push(await answerAlone(port, scenario.token, command));
      const reference = Buffer.concat(alone);
      // The reference holds what the scenario is about.
      const text = reference.toString('latin1');
      assert.ok(text.includes('$-1\r\n'), 'a missing or expired key answers null');
      assert.ok(text.includes(`$${big.length}\r\n`), 'the large value is answered');
      assert.ok(text.includes("-ERR unknown command 'GETX'"), 'an unknown command is refused');
      if (scenario.token === undefined) assert.ok(text.includes('-NOAUTH'), 'writes need authentication');
      if (scenario.token === tokens.read) assert.ok(text.includes('-NOPERM'), 'writes are denied');
      if (scenario.token === tokens.admin) assert.ok(text.includes('-ERR value is not an integer'), 'INCR of text');

      const prefix = scenario.token === undefined ? Buffer.alloc(0) : encodeCommand(['AUTH', scenario.token]);
      const authReply = scenario.token === undefined ? '' : '+OK\r\n';
      const request = Buffer.concat([prefix, ...sequence.map((command) => encodeCommand(command))]);
      const expected = Buffer.concat([Buffer.from(authReply, 'latin1'), reference]);

      const send = async (parts: Buffer[]): Promise<Buffer> => {
        const socket = await open(port);
        const answer = receive(socket, expected.length);
        for (const part of parts) {
          socket.write(part);
          await nextTurn();
        }
        return answer;
      };
      const same = (answer: Buffer, how: string) => {
        if (!answer.equals(expected)) {
          assert.equal(answer.toString('latin1'), expected.toString('latin1'), how);
          assert.fail(`${how}: the bytes differ`);
        }
      };

      same(await send([request]), 'in one write');
      for (let split = 1; split < request.length; split++) {
        same(await send([request.subarray(0, split), request.subarray(split)]), `split at byte ${split}`);
      }
      const bytes: Buffer[] = [];
      for (let index = 0; index < request.length; index++) bytes.push(request.subarray(index, index + 1));
      same(await send(bytes), 'one byte per write');
    });
  }
});
