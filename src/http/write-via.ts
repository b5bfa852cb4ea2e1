// Which front end an HTTP request is, for the audit trail (docs/audit.md): the seed's `POST /`,
// POST /v1/txn, the rest of /v1; the web UI and `kvs import` mark their requests with the header
// `X-Kvs-Client` (ui, import). The header only labels the entry: the token decides what the
// request may do, and the entry records the token whatever the header says.

import type { WriteVia } from '../model/audit.js';

/** The request header by which the web UI and `kvs import` mark their requests. */
export const CLIENT_HEADER = 'x-kvs-client';

export function viaOf(url: string, clientHeader: string | string[] | undefined): WriteVia {
  if (clientHeader === 'ui' || clientHeader === 'import') return clientHeader;
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  if (path === '/') return 'seed';
  if (path === '/v1/txn') return 'txn';
  return 'v1';
}
