// The etcd3 client as the engine configures it: endpoints, TLS and user/password from the
// store configuration; unbounded gRPC message size (a watch response can carry many
// revisions); keepalive pings so that a dead member's watch stream is noticed; no retries of
// its own (etcd-calls.ts decides what may be retried) and a circuit breaker per member, so that
// calls stop going to a member that is down and try it again after a second.

import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { ConsecutiveBreaker, circuitBreaker, handleWhen, noop } from 'cockatiel';
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';
import { StoreOpenError, type EtcdStoreConfig } from '../config.js';

export function createEtcdClient(store: EtcdStoreConfig): Etcd3 {
  if (store.endpoints.length === 0) throw new StoreOpenError('--store etcd://: give at least one etcd endpoint');
  const tls = store.caFile !== undefined || store.certFile !== undefined || store.keyFile !== undefined;
  const secure = store.endpoints.every((endpoint) => endpoint.startsWith('https://'));
  if (tls && !secure)
    throw new StoreOpenError('--etcd-ca/--etcd-cert/--etcd-key need TLS endpoints: use etcds://host:port');
  if ((store.certFile === undefined) !== (store.keyFile === undefined))
    throw new StoreOpenError('--etcd-cert and --etcd-key go together');
  if (store.password !== undefined && store.username === undefined)
    throw new StoreOpenError('--etcd-password needs --etcd-user');

  const options: IOptions = {
    hosts: [...store.endpoints],
    grpcOptions: {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      // etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time).
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
    },
    faultHandling: {
      global: noop,
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(3) }),
    },
  };
  if (store.username !== undefined) options.auth = { username: store.username, password: store.password ?? '' };
  if (tls) {
    options.credentials = {
      // Without --etcd-ca, trust the same public CAs as Node does.
      rootCertificate:
        store.caFile !== undefined ? readPem(store.caFile, '--etcd-ca') : Buffer.from(rootCertificates.join('\n')),
      ...(store.certFile !== undefined ? { certChain: readPem(store.certFile, '--etcd-cert') } : {}),
      ...(store.keyFile !== undefined ? { privateKey: readPem(store.keyFile, '--etcd-key') } : {}),
    };
  }
  return new Etcd3(options);
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new StoreOpenError(`${flag}: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
