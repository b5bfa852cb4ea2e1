// kvs del KEY

import { Option, type Command } from 'commander';
import { CliError, action } from './cli-error.js';
import { explainConditionFailure } from './condition-failure.js';
import { clientFor, withConnection, type ConnectionOptions } from './connection.js';
import { wholeNumber } from './parse-number.js';

interface DelOptions extends ConnectionOptions {
  readonly ifVersion?: number;
}

export function registerDel(program: Command): void {
  withConnection(program.command('del'))
    .description('delete KEY (exit 1 if it does not exist)')
    .argument('<key>', 'the key')
    .addOption(new Option('--if-version <n>', 'delete only if the key is at this version').argParser(wholeNumber(1)))
    .addHelpText('after', '\nExamples:\n  $ kvs del config/greeting\n  $ kvs del --if-version 4 lock/backup')
    .action(
      action(async (key: string, options: DelOptions) => {
        const deleted = await clientFor(options)
          .delete(key, { ifVersion: options.ifVersion })
          .catch((error: unknown) => {
            throw explainConditionFailure(error, key, { command: 'del', ...options });
          });
        if (!deleted) throw new CliError('not_found', `no such key: ${key}`);
      }),
    );
}
