// Opening the file an import reads, and picking its format.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { formatByName, formatFromPath, formatNames, type Format } from '../formats/index.js';
import { CliError } from './cli-error.js';

export function chooseFormat(
  requested: string | undefined,
  path: string | undefined,
  fallback: Format | undefined,
): Format {
  if (requested !== undefined) {
    const format = formatByName(requested);
    if (format === undefined)
      throw new CliError('usage', `unknown format ${JSON.stringify(requested)}; use one of ${formatNames.join(', ')}`);
    return format;
  }
  const guessed = path === undefined ? undefined : formatFromPath(path);
  if (guessed !== undefined) return guessed;
  if (fallback !== undefined) return fallback;
  throw new CliError(
    'usage',
    `cannot tell the format of ${path} from its name; give --format ${formatNames.join('|')}`,
  );
}

/** The file as a stream ('-' is stdin); a missing or unreadable file fails before anything is sent. */
export async function openInput(path: string): Promise<Readable> {
  if (path === '-') return process.stdin;
  try {
    const info = await stat(path);
    if (!info.isFile())
      throw new CliError('invalid_file', `${path} is not a file; give the path of a file, or - for stdin`);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      'invalid_file',
      `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give the path of a readable file, or - for stdin`,
    );
  }
  return createReadStream(path);
}
