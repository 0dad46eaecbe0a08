import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * The domain stays in rooms one can read: no file over 300 lines (a file that grows past it wants a split by concern,
 * as lifecycle.ts, poll.ts and the renderers were split).
 */

const DOMAIN = join(import.meta.dirname, '..', '..', 'lambda', 'domain');

describe('the domain', () => {
  it('has no file over 300 lines', () => {
    const over = readdirSync(DOMAIN)
      .filter((name) => name.endsWith('.ts'))
      .map((name) => [name, readFileSync(join(DOMAIN, name), 'utf8').split('\n').length - 1] as const)
      .filter(([, lines]) => lines > 300);

    expect(over).toEqual([]);
  });
});
