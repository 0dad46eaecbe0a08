import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * The tables of the docs that the code defines, generated so they cannot drift: the configuration reference, from
 * config.schema.json (itself generated from the configuration schema). `npm run docs` writes them between their
 * markers; test/unit/docs-tables.test.ts fails when a doc differs from what this would write.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly description?: string;
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly anyOf?: readonly JsonSchema[];
}

/** One row per setting, dotted (`notifications.emails[].address`); a channel given as a name or an object: its object. */
export function configRows(schema: JsonSchema): string[][] {
  const rows: string[][] = [];
  const walk = (node: JsonSchema, path: string, required: boolean) => {
    const objects = [node, ...(node.anyOf ?? [])].filter((n) => n.properties !== undefined);
    const items = node.items;
    if (path !== '' && path !== '$schema')
      rows.push([`\`${path}\``, typeOf(node), defaultOf(node, required), textOf(node)]);
    for (const object of objects) {
      for (const [key, child] of Object.entries(object.properties ?? {})) {
        if (key === '$schema') continue;
        walk(child, path === '' ? key : `${path}.${key}`, object.required?.includes(key) ?? false);
      }
    }
    if (items !== undefined) {
      for (const object of [items, ...(items.anyOf ?? [])].filter((n) => n.properties !== undefined)) {
        for (const [key, child] of Object.entries(object.properties ?? {})) {
          walk(child, `${path}[].${key}`, object.required?.includes(key) ?? false);
        }
      }
    }
  };
  walk(schema, '', true);
  return rows;
}

function typeOf(node: JsonSchema): string {
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (node.enum !== undefined && node.enum.length <= 6) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (node.anyOf !== undefined) return node.anyOf.map(typeOf).join(' or ');
  const type = Array.isArray(node.type) ? node.type.join(' or ') : (node.type ?? 'any');
  if (type === 'array') return `${node.items ? typeOf(node.items) : 'any'} list`;
  const range = node.minimum !== undefined && node.maximum !== undefined ? ` ${node.minimum}–${node.maximum}` : '';
  return `${type}${range}`;
}

function defaultOf(node: JsonSchema, required: boolean): string {
  if (node.default !== undefined) return `\`${JSON.stringify(node.default)}\``;
  return required ? 'required' : '—';
}

function textOf(node: JsonSchema): string {
  return (node.description ?? '').replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
}

/** A Markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The configuration reference as `npm run docs` writes it. */
export function configurationTable(): string {
  const schema = JSON.parse(readFileSync(join(ROOT, 'config.schema.json'), 'utf8')) as JsonSchema;
  return markdownTable(['setting', 'type', 'default', 'meaning'], configRows(schema));
}

/** `text` with the part between `<!-- generated:NAME:start … -->` and `<!-- generated:NAME:end -->` replaced. */
export function replaceBetween(text: string, name: string, content: string): string {
  const start = text.indexOf(`<!-- generated:${name}:start`);
  const end = text.indexOf(`<!-- generated:${name}:end -->`);
  if (start < 0 || end < start) throw new Error(`no generated:${name} markers`);
  const afterStart = text.indexOf('-->', start) + 3;
  return `${text.slice(0, afterStart)}\n${content}\n${text.slice(end)}`;
}

/** The part between a marker pair, its table rows as cells (Markdown padding and the separator row left out). */
export function tableCells(text: string, name: string): string[][] {
  const start = text.indexOf(`<!-- generated:${name}:start`);
  const end = text.indexOf(`<!-- generated:${name}:end -->`);
  if (start < 0 || end < start) throw new Error(`no generated:${name} markers`);
  return text
    .slice(text.indexOf('-->', start) + 3, end)
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

/** The generated tables: file, marker name, content. */
export function generatedTables(): { file: string; name: string; content: string }[] {
  return [{ file: 'docs/configuration.md', name: 'config', content: configurationTable() }];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { file, name, content } of generatedTables()) {
    const path = join(ROOT, file);
    writeFileSync(path, replaceBetween(readFileSync(path, 'utf8'), name, content));
    // As `npm run lint` wants it (Markdown tables padded).
    execFileSync(join(ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', path], { stdio: 'ignore' });
    process.stdout.write(`docs: ${file} (${name})\n`);
  }
}
