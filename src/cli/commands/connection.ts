// The --url/--token options every client command shares (also read from KVS_URL / KVS_TOKEN).

import { Option, type Command } from 'commander';
import { KvsClient } from '../../client/index.js';
import { CliError } from './cli-error.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface ConnectionOptions {
  readonly url: string;
  readonly token?: string | undefined;
}

export function withConnection(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'server URL').env('KVS_URL').default(DEFAULT_URL))
    .addOption(new Option('--token <token>', 'token for writes (and reads on a --private server)').env('KVS_TOKEN'));
}

/** The server URL, checked before anything is sent: `localhost:8080` would parse as scheme `localhost:`. */
export function serverUrl(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '') {
    const hint = /^[\w.-]+(:\d+)?(\/|$)/.test(text) ? `; did you mean --url http://${text}?` : '';
    throw new CliError('usage', `--url must be an http:// or https:// URL (got ${JSON.stringify(text)})${hint}`);
  }
  return text;
}

/** A client for the command's server; `headers` go with every request (`kvs import` marks its writes). */
export function clientFor(options: ConnectionOptions, headers?: Readonly<Record<string, string>>): KvsClient {
  return new KvsClient({ url: serverUrl(options.url), token: options.token, headers });
}
