import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, type EventType, SEVERITY } from '../../lambda/domain/events.js';
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
    // Not node_modules, nor build output (bench/.build holds bundles, whose packages read variables of their own).
    if (statSync(path).isDirectory())
      return name === 'node_modules' || name.startsWith('.') ? [] : sources(relative(ROOT, path));
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
  const code = ['lambda', 'local', 'infra', 'bench', 'scripts', 'docs/tools', 'test/harness'].flatMap(sources);
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

describe('the event types the docs list', () => {
  const typesIn = (text: string) => new Set([...text.matchAll(/`([a-z]+\.[a-z_]+)`/g)].map((m) => m[1] as string));

  it('the README names every event type, and no other', () => {
    const table = (read('README.md').split('## What you receive')[1] ?? '').split('\n## ')[0] ?? '';
    const rows = table.split('\n').filter((l) => l.startsWith('| '));

    expect([...typesIn(rows.join('\n'))].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('docs/events.md has a row for every event type, with its severity', () => {
    const rows = read('docs/events.md')
      .split('\n')
      .filter((l) => /^\| `[a-z]+\.[a-z_]+`/.test(l))
      .map((l) => l.split('|').map((c) => c.trim()));

    // A row names one type, or two with their severities in the same order: `a` / `b` | warning / info.
    const listed = rows.flatMap((r) => {
      const types = (r[1] ?? '').split(' / ').map((t) => t.replace(/`/g, '') as EventType);
      const severities = (r[2] ?? '').split(' / ');
      return types.map((type, i) => [type, severities[i]] as const);
    });

    expect(listed.map(([type]) => type).sort()).toEqual([...EVENT_TYPES].sort());
    for (const [type, severity] of listed) if (type !== 'monitor.grouped') expect(severity, type).toBe(SEVERITY[type]);
  });
});

describe('the docs', () => {
  const docs = [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];

  it.each(docs)('%s holds no merge-conflict marker (also as a formatter rewrites it)', (file) => {
    const markers = read(file)
      .split('\n')
      .filter((l) => /^\|? ?(<{7}|={7}|>{7})(\s|$)|^(> ){7}/.test(l));

    expect(markers).toEqual([]);
  });
});
