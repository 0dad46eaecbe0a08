import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { ConfigFileError, loadConfigFile, parseConfigJson } from '../../infra/config-file.js';
import { CONFIG_SCHEMA_FILE, configJsonSchemaText } from '../../infra/config-json-schema.js';
import { MonitorConfigError, resolveConfig } from '../../lambda/config-schema.js';

const ROOT = join(import.meta.dirname, '../..');
const EXAMPLES = join(ROOT, 'infra/examples');
const TYPO = 'policy.stalAfterMinutes: unknown key — did you mean stallAfterMinutes?';
const server = { id: 'vb365-prod', url: 'https://vb365.example:4443', credentials: { secretName: 'vb365/prod' } };

/** The problems resolveConfig reports for `config` (none when it passes). */
function problemsOf(config: unknown): readonly string[] {
  try {
    resolveConfig(config, () => undefined);
    return [];
  } catch (err) {
    if (err instanceof MonitorConfigError) return err.problems;
    throw err;
  }
}

describe('config.schema.json', () => {
  const committed = readFileSync(CONFIG_SCHEMA_FILE, 'utf8');
  const validate = new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(committed));

  it('is what `npm run config-schema` generates from the configuration schema (never stale)', () => {
    expect(committed).toBe(configJsonSchemaText());
  });

  it('keeps descriptions and defaults', () => {
    const schema = JSON.parse(committed);
    expect(schema.properties.policy.properties.stallAfterMinutes).toMatchObject({
      type: 'integer',
      minimum: 1,
      default: 60,
      description: expect.stringContaining('sync.stalled'),
    });
    expect(schema.properties.metrics).toMatchObject({ enum: ['fleet', 'perServer'], default: 'fleet' });
  });

  it.each([...readdirSync(EXAMPLES).filter((f) => /\.(json|ts)$/.test(f)), '../monitor-config.ts'])(
    'accepts the example %s',
    async (file) => {
      const config = await loadConfigFile(join(EXAMPLES, file));

      expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    },
  );

  it.each([
    ['stalAfterMinutes', 'stallAfterMinutes', '/policy', { servers: [server], policy: { stalAfterMinutes: 60 } }],
    ['pinsha256', 'pinSha256', '/servers/0', { servers: [{ ...server, pinsha256: 'ab'.repeat(32) }] }],
    ['server', 'servers', '', { server: [server] }],
  ])('rejects the misspelt key %s, as the synth does', (key, near, instancePath, config) => {
    expect(validate(config)).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({ instancePath, keyword: 'additionalProperties', params: { additionalProperty: key } }),
    );
    expect(problemsOf(config)).toContainEqual(expect.stringContaining(`${key}: unknown key — did you mean ${near}?`));
  });

  it('rejects values out of bounds and of the wrong type', () => {
    expect(validate({ servers: [server], pollEveryMinutes: 0 })).toBe(false);
    expect(validate({ servers: [server], metrics: 'perTenant' })).toBe(false);
    expect(validate({ servers: [] })).toBe(false);
    expect(validate({ servers: [server], pollEveryMinutes: 10, metrics: 'perServer' })).toBe(true);
  });
});

describe('a misspelt key, end to end', () => {
  const typo = { servers: [server], policy: { stalAfterMinutes: 60 } };

  it('is exactly one problem naming the valid key', () => {
    expect(problemsOf(typo)).toEqual([TYPO]);
  });

  it('stops `npx cdk synth -c config=FILE.json` with that line and no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-'));
    const file = join(dir, 'typo.json');
    writeFileSync(file, JSON.stringify({ $schema: './config.schema.json', ...typo }, null, 2));

    const err = (await promisify(execFile)(
      'npx',
      ['cdk', 'synth', '-q', '-o', join(dir, 'out'), '-c', `config=${file}`],
      {
        cwd: ROOT,
        timeout: 120_000,
      },
    ).catch((e: unknown) => e)) as { code?: number; stderr?: string };

    expect(err.code).toBe(1);
    expect(err.stderr).toContain(`${file}: invalid monitor configuration (1 problem):\n- ${TYPO}\n`);
    expect(err.stderr).not.toMatch(/^\s+at /m);
  }, 120_000);
});

describe('loading a configuration file', () => {
  it.each([
    ['{ "servers": [ { "id": "a", } ] }', 'line 1, column 29'],
    ['{\n  "servers": [\n    { "id": "a" }\n  ],\n}\n', 'line 5, column 1'],
    ['{\n  "pollEveryMinutes": tru\n}', 'line 2, column 26'],
    ['{\n  "milestones": [25, 50,]\n}', 'line 2, column 25'],
    ['{ "url": "https://a\n" }', 'line 1, column 20'],
    ['{ "a": 1 } }', 'line 1, column 12'],
    ['{ "servers": [', 'line 1, column 15'],
    ['', 'line 1, column 1'],
  ])('names the line and column of a JSON syntax error (%j)', (text, where) => {
    expect(() => parseConfigJson(text)).toThrow(new RegExp(`^invalid JSON at ${where}: \\S`));
  });

  it.each([
    '{"note": "hunter2", "a": tru}',
    `{"note": "${'hunter2 '.repeat(20)}", "a": tru, "b": "hunter2 hunter2 hunter2 hunter2"}`,
  ])('does not quote the file in a JSON error (%#)', (text) => {
    expect(() => parseConfigJson(text)).toThrow(/^invalid JSON at line 1, column \d+: Unexpected token/);
    expect(() => parseConfigJson(text)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });

  it('reads JSON with a byte order mark', () => {
    expect(parseConfigJson('\uFEFF{"servers": []}')).toEqual({ servers: [] });
  });

  it.each([
    ['missing.json', undefined, 'no such file'],
    ['missing.ts', undefined, 'no such file'],
    ['no-default.mjs', 'export const config = {};\n', 'the file has no default export'],
    ['broken.mjs', 'export default {\n', 'cannot load the file: '],
  ])('says plainly why %s cannot be loaded', async (name, text, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'config-'));
    if (text !== undefined) writeFileSync(join(dir, name), text);

    const err = await loadConfigFile(join(dir, name)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ConfigFileError);
    expect((err as Error).message).toContain(message);
  });
});
