// kvs token add|list: manage the server's token file (docs/cli.md). Works on the file directly;
// the server reads it at start, so restart the server after adding a token.

import { Option, type Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { appendToken, parseTokenFile, type Scope } from '../../core/tokens.js';
import { CliError, action } from './cli-error.js';
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

export function registerToken(program: Command): void {
  const token = program
    .command('token')
    .description('add or list tokens in a token file (restart the server to use new tokens)');

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
            `cannot write the token file ${options.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
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
    .command('list')
    .description('list the tokens of a token file: number, scope and prefixes (never the tokens themselves)')
    .addOption(fileOption())
    .addHelpText('after', '\nExample:\n  $ kvs token list\n  #1  admin  all keys\n  #2  read   public/, docs/')
    .action(
      action(async (options: FileOptions) => {
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
