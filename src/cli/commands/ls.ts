// kvs ls [PREFIX]: keys in order, following the listing's pages.

import type { Command } from 'commander';
import type { ListItem } from '../../client/index.js';
import { action } from './cli-error.js';
import { clientFor, withConnection, type ConnectionOptions } from './connection.js';
import { printable, writeChunk } from './output.js';

interface LsOptions extends ConnectionOptions {
  readonly long?: boolean;
  readonly json?: boolean;
}

export const LONG_HEADER = `${'VERSION'.padStart(7)} ${'REVISION'.padStart(9)} ${'SIZE'.padStart(8)}  ${'UPDATED'.padEnd(24)}  ${'EXPIRES'.padEnd(24)}  KEY`;

function longLine(item: ListItem): string {
  const expires = item.expires === null ? '-' : item.expires.toISOString();
  return `${String(item.version).padStart(7)} ${String(item.modRevision).padStart(9)} ${String(item.size).padStart(8)}  ${item.updated.toISOString().padEnd(24)}  ${expires.padEnd(24)}  ${printable(item.key)}${item.contentType === null ? '' : `  (${item.contentType})`}\n`;
}

function jsonItem(item: ListItem): string {
  return JSON.stringify({
    key: item.key,
    version: item.version,
    createRevision: item.createRevision,
    modRevision: item.modRevision,
    updated: item.updated.toISOString(),
    expires: item.expires === null ? null : item.expires.toISOString(),
    size: item.size,
    contentType: item.contentType,
  });
}

export function registerLs(program: Command): void {
  withConnection(program.command('ls'))
    .description('list keys starting with PREFIX (all keys when omitted), in key order')
    .argument('[prefix]', 'key prefix', '')
    .option('-l, --long', 'one line per key with version, revision, size, updated, expires, key and content type')
    .option('--json', 'a JSON array of objects with every field of the listing')
    .addHelpText(
      'after',
      "\nExamples:\n  $ kvs ls config/\n  $ kvs ls --long\n  $ kvs ls --json users/ | jq -r '.[].key'",
    )
    .action(
      action(async (prefix: string, options: LsOptions) => {
        const client = clientFor(options);
        let count = 0;
        if (options.long && !options.json) await writeChunk(process.stdout, `${LONG_HEADER}\n`);
        for await (const item of client.listAll({ prefix, limit: 1000 })) {
          if (options.json) await writeChunk(process.stdout, `${count === 0 ? '[\n' : ',\n'}  ${jsonItem(item)}`);
          else await writeChunk(process.stdout, options.long ? longLine(item) : `${printable(item.key)}\n`);
          count++;
        }
        if (options.json) await writeChunk(process.stdout, count === 0 ? '[]\n' : '\n]\n');
      }),
    );
}
