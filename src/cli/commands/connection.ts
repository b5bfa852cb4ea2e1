// The --url/--token options every client command shares (also read from KVS_URL / KVS_TOKEN).

import { Option, type Command } from 'commander';
import { KvsClient } from '../../client/index.js';

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

export function clientFor(options: ConnectionOptions): KvsClient {
  return new KvsClient({ url: options.url, token: options.token });
}
