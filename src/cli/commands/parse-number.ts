// Option parsers for commander.

import { InvalidArgumentError } from 'commander';

export function wholeNumber(minimum: number): (text: string) => number {
  return (text: string) => {
    if (!/^\d+$/.test(text) || Number(text) < minimum || !Number.isSafeInteger(Number(text))) {
      throw new InvalidArgumentError(`expected a whole number >= ${minimum}`);
    }
    return Number(text);
  };
}
