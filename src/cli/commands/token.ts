// kvs token create|list|revoke: tokens minted over the API (docs/tokens.md), which take effect
// at once on every server process. kvs token add, and list without --url/KVS_URL, manage the
// server's token file directly (docs/cli.md); the server reads it at start.

import { Option, type Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { appendToken, hashTokenFileText, parseTokenFile, type Scope } from '../../core/tokens.js';
import { replaceFileDurably } from './replace-file.js';
import { CliError, action } from './cli-error.js';
import { clientFor, withConnection, type ConnectionOptions } from './connection.js';
import { wholeNumber } from './parse-number.js';
import { writeChunk } from './output.js';

interface FileOptions {
  readonly file: string;
}

interface AddOptions extends FileOptions {
  readonly scope: Scope;
  readonly prefix?: string;
}

/** The server's default token file: DATA/tokens, DATA being KVS_DATA or ./kvs-data, like `kvs serve`. */
function defaultTokenFile(): string {
  return join(process.env.KVS_DATA ?? './kvs-data', 'tokens');
}

function fileOption(): Option {
  return new Option('--file <file>', "the token file (the server's --token-file)")
    .env('KVS_TOKEN_FILE')
    .default(defaultTokenFile());
}

/** A token file can be added to when it is a file, or is missing in an existing directory. */
function checkWritableTokenFile(file: string): void {
  const info = statSync(file, { throwIfNoEntry: false });
  if (info !== undefined) {
    if (!info.isFile())
      throw new CliError('invalid_file', `the token file ${file} is not a file; give --file the path of a file`);
    return;
  }
  const dir = dirname(file);
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() !== true) {
    const hint =
      file === defaultTokenFile()
        ? '; run `kvs serve` once to create the data directory, or give --file (or KVS_DATA)'
        : '; create the directory first, or give another --file';
    throw new CliError('invalid_file', `no directory ${dir} for the token file ${file}${hint}`);
  }
}

interface CreateOptions extends ConnectionOptions {
  readonly scope: Scope;
  readonly prefix?: string;
  readonly label?: string;
  readonly ttl?: number;
  readonly expires?: string;
}

function prefixList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((prefix) => prefix.trim())
    .filter((prefix) => prefix !== '');
}

function shownTime(time: Date | null): string {
  return time === null ? '-' : time.toISOString();
}

export function registerToken(program: Command): void {
  const token = program
    .command('token')
    .description('mint, list and revoke API tokens (create, list, revoke), or add to a token file (add)');

  withConnection(token.command('create'))
    .description('mint a token over the API (admin token needed) and print its secret once')
    .addOption(
      new Option('--scope <scope>', 'what the token may do: read, write (implies read) or admin')
        .choices(['read', 'write', 'admin'])
        .makeOptionMandatory(),
    )
    .option('--prefix <prefixes>', 'limit the token to keys starting with one of these comma-separated prefixes')
    .option('--label <label>', 'a name for the token, shown by list')
    .addOption(new Option('--ttl <seconds>', 'expire after this many seconds').argParser(wholeNumber(1)))
    .option('--expires <time>', 'expire at this ISO 8601 time')
    .addHelpText(
      'after',
      '\nExample:\n  $ kvs token create --scope write --prefix tv/ --label "living room" --ttl 86400\n  kvs_q1w2e3...   (shown only this once)',
    )
    .action(
      action(async (options: CreateOptions) => {
        let expires: Date | undefined;
        if (options.expires !== undefined) {
          expires = new Date(options.expires);
          if (Number.isNaN(expires.getTime())) throw new CliError('usage', '--expires must be an ISO 8601 time');
        }
        const created = await clientFor(options).createToken({
          scope: options.scope,
          prefixes: prefixList(options.prefix),
          ...(options.label !== undefined && { label: options.label }),
          ...(options.ttl !== undefined && { ttl: options.ttl }),
          ...(expires !== undefined && { expires }),
        });
        await writeChunk(process.stdout, `${created.token}\n`);
        const limited = created.prefixes.length > 0 ? ` limited to ${created.prefixes.join(', ')}` : '';
        const until = created.expires === null ? '' : `, expiring ${created.expires.toISOString()}`;
        process.stderr.write(
          `created ${created.scope} token ${created.id}${limited}${until}; its secret is not shown again. Revoke it with: kvs token revoke ${created.id}\n`,
        );
      }),
    );

  withConnection(token.command('revoke'))
    .description('revoke a minted token by id (admin token needed); refused from the next request on')
    .argument('<id>', 'the token id, as create and list show it')
    .addHelpText('after', '\nExample:\n  $ kvs token revoke tok_3f9a0c1d2e4b5a6c')
    .action(
      action(async (id: string, options: ConnectionOptions) => {
        await clientFor(options).revokeToken(id);
        process.stderr.write(`revoked ${id}\n`);
      }),
    );

  token
    .command('add')
    .description('generate a token, append it to the token file (mode 0600) and print it once')
    .addOption(
      new Option('--scope <scope>', 'what the token may do: read, write (implies read) or admin (also flush, manage)')
        .choices(['read', 'write', 'admin'])
        .makeOptionMandatory(),
    )
    .option('--prefix <prefixes>', 'limit the token to keys starting with one of these comma-separated prefixes')
    .addOption(fileOption())
    .addHelpText(
      'after',
      '\nExample:\n  $ kvs token add --scope read --prefix public/,docs/ --file ./kvs-data/tokens\n  q1w2e3...   (shown only this once)',
    )
    .action(
      action(async (options: AddOptions) => {
        const prefixes = (options.prefix ?? '')
          .split(',')
          .map((prefix) => prefix.trim())
          .filter((prefix) => prefix !== '');
        if (prefixes.some((prefix) => /\s|#/.test(prefix)))
          throw new CliError('usage', 'prefixes cannot contain spaces or #');
        checkWritableTokenFile(options.file);
        let created: string;
        try {
          created = appendToken(options.file, options.scope, prefixes);
        } catch (error) {
          throw new CliError(
            'invalid_file',
            `cannot write the token file ${options.file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give --file a file this user can write`,
          );
        }
        await writeChunk(process.stdout, `${created}\n`);
        const limited = prefixes.length > 0 ? ` limited to ${prefixes.join(', ')}` : '';
        process.stderr.write(
          `added a ${options.scope} token${limited} to ${options.file}; it is not shown again. Restart the server to use it.\n`,
        );
      }),
    );

  token
    .command('hash')
    .description(
      'rewrite the token file with each clear-text token replaced by its SHA-256 (sha256:<hex>); every token keeps working with the same scope and prefixes, and no secret stays on disk',
    )
    .addOption(fileOption())
    .addHelpText(
      'after',
      '\nExample:\n  $ kvs token hash --file ./kvs-data/tokens\n  hashed 3 tokens in ./kvs-data/tokens',
    )
    .action(
      action(async (options: FileOptions) => {
        if (!existsSync(options.file) || !statSync(options.file).isFile())
          throw new CliError(
            'invalid_file',
            `no token file at ${options.file}; give --file the path of the token file`,
          );
        let result: ReturnType<typeof hashTokenFileText>;
        try {
          result = hashTokenFileText(readFileSync(options.file, 'utf8'));
        } catch (error) {
          throw new CliError('invalid_file', `${options.file}: ${(error as Error).message}`);
        }
        try {
          if (result.hashed > 0) replaceFileDurably(options.file, result.text);
        } catch (error) {
          throw new CliError(
            'output_failed',
            `cannot rewrite the token file ${options.file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); it is unchanged`,
          );
        }
        process.stderr.write(
          `hashed ${result.hashed} token${result.hashed === 1 ? '' : 's'} in ${options.file}${result.hashed > 0 ? '; restart the server to read it again' : ''}\n`,
        );
      }),
    );

  const list = withConnection(token.command('list'))
    .description(
      'list minted tokens over the API when --url or KVS_URL is given (id, scope, prefixes, label, times); otherwise the tokens of a token file (number, scope, prefixes). Never the secrets',
    )
    .addOption(fileOption())
    .addHelpText(
      'after',
      '\nExamples:\n  $ kvs token list --url http://127.0.0.1:8080\n  tok_3f9a0c1d2e4b5a6c  write  tv/  living room  created 2026-11-30T04:00:00.000Z  expires -  last used -\n  $ kvs token list\n  #1  admin  all keys\n  #2  read   public/, docs/',
    );
  list.action(
    action(async (options: FileOptions & ConnectionOptions) => {
      if (list.getOptionValueSource('url') !== 'default' && list.getOptionValueSource('file') !== 'cli') {
        for (const info of await clientFor(options).listTokens()) {
          const prefixes = info.prefixes.length === 0 ? 'all keys' : info.prefixes.join(',');
          await writeChunk(
            process.stdout,
            `${info.id}  ${info.scope.padEnd(5)}  ${prefixes}  ${JSON.stringify(info.label)}  created ${shownTime(info.created)}  expires ${shownTime(info.expires)}  last used ${shownTime(info.lastUsed)}\n`,
          );
        }
        return;
      }
      if (!existsSync(options.file))
        throw new CliError(
          'invalid_file',
          `no token file at ${options.file}; give --file (or KVS_TOKEN_FILE), or the server's --data as KVS_DATA`,
        );
      if (!statSync(options.file).isFile())
        throw new CliError('invalid_file', `the token file ${options.file} is not a file`);
      let entries: ReturnType<typeof parseTokenFile>;
      try {
        entries = parseTokenFile(readFileSync(options.file, 'utf8'));
      } catch (error) {
        throw new CliError('invalid_file', `${options.file}: ${(error as Error).message}`);
      }
      for (const [index, { grant }] of entries.entries()) {
        const prefixes = grant.prefixes.length === 0 ? 'all keys' : grant.prefixes.join(', ');
        await writeChunk(process.stdout, `#${index + 1}  ${grant.scope.padEnd(5)}  ${prefixes}\n`);
      }
    }),
  );
}
