import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALLOW_HTTP_LOOPBACK, DELIVERER_ENV, ENV, RUNTIME_ENV } from '../../lambda/names.js';
import { generatedTables, replaceBetween, tableCells } from '../../scripts/docs-tables.js';

/*
 * The docs' tables that the code defines cannot drift: the generated ones are what `npm run docs` writes, and the
 * environment table names exactly the variables the code reads or the construct sets.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(ROOT, dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(relative(ROOT, path));
    return /\.(ts|mjs)$/.test(name) ? [relative(ROOT, path)] : [];
  });
}

describe('generated doc tables', () => {
  it.each(generatedTables().map((t) => [`${t.file} (${t.name})`, t] as const))(
    '%s is what npm run docs writes',
    (_, t) => {
      const text = read(t.file);
      const expected = replaceBetween(text, t.name, t.content);

      expect(tableCells(text, t.name)).toEqual(tableCells(expected, t.name));
    },
  );
});

describe('the environment table (docs/configuration.md)', () => {
  const section = read('docs/configuration.md').split('## Environment variables')[1] ?? '';
  const documented = new Set(
    section
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .flatMap((l) => [...(l.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string)),
  );
  const code = sources('lambda').concat(sources('local'), sources('infra'), sources('bench'), sources('scripts'));
  // The Lambdas' names (read by the code, set by the construct) and what the construct sets for Node and Powertools.
  const read_ = new Set<string>([
    ...Object.values(ENV),
    ...Object.values(DELIVERER_ENV),
    ...Object.values(RUNTIME_ENV),
    ALLOW_HTTP_LOOPBACK,
  ]);
  for (const file of code) {
    const text = read(file);
    for (const m of text.matchAll(/\b(?:process\.)?env(?:\.([A-Z][A-Z0-9_]+)|\[['"]([A-Z][A-Z0-9_]+)['"]\])/g))
      read_.add((m[1] ?? m[2]) as string);
  }

  it('names every variable the code reads and the construct sets', () => {
    expect([...read_].filter((name) => !documented.has(name)).sort()).toEqual([]);
  });

  it('names nothing the code does not read', () => {
    expect([...documented].filter((name) => !read_.has(name)).sort()).toEqual([]);
  });
});
