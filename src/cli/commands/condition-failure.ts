// A failed `--if-version` / `--if-absent` (set, del) in the CLI's words: the server's message
// speaks HTTP (If-Match), and the version the key is at (`currentVersion`, sent with the error)
// is what the user needs to retry.

import { KvsClientError } from '../../client/index.js';
import { CliError } from './cli-error.js';

export interface WriteCondition {
  readonly command: 'set' | 'del';
  readonly ifVersion?: number | undefined;
  readonly ifAbsent?: boolean | undefined;
}

/** `error` as a CliError with the same code when it is a failed condition; otherwise `error`. */
export function explainConditionFailure(error: unknown, key: string, condition: WriteCondition): unknown {
  if (!(error instanceof KvsClientError)) return error;
  const current = error.details.currentVersion;
  if (typeof current !== 'number') return error;
  if (error.code === 'key_exists')
    return new CliError(
      'key_exists',
      `${key} exists (version ${current}) and --if-absent only creates; to replace it use --if-version ${current}`,
    );
  if (error.code !== 'version_mismatch' || condition.ifVersion === undefined) return error;
  const expected = condition.ifVersion;
  if (current === 0) {
    const advice = condition.command === 'set' ? 'to create it use --if-version 0 or --if-absent' : 'nothing to delete';
    return new CliError(
      'version_mismatch',
      `${key} does not exist, so it is not at version ${expected} (--if-version ${expected}); ${advice}`,
    );
  }
  const wanted = expected === 0 ? `absent (--if-version 0)` : `at version ${expected} (--if-version ${expected})`;
  return new CliError(
    'version_mismatch',
    `${key} is at version ${current}, not ${wanted}: it changed since it was read; read it again, then retry with --if-version ${current}`,
  );
}
