import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ConversionConfig, type JsonSchema, toJsonSchema } from '@valibot/to-json-schema';
import type * as v from 'valibot';
import { CONFIG_SCHEMA_FOR_EDITORS } from '../lambda/config-schema.js';

/*
 * config.schema.json, the JSON Schema editors use to complete and check a JSON configuration file
 * ("$schema": "./config.schema.json"), generated from the one configuration schema: `npm run config-schema`.
 * Checks that JSON Schema cannot express (exactly one credentials key, URL rules, PEM text, cross-field rules) are left
 * out; the synth still makes them.
 */

const ROOT = join(import.meta.dirname, '..');
export const CONFIG_SCHEMA_FILE = join(ROOT, 'config.schema.json');

/** Inputs of each JSON type, to see which schema a lazy schema picks for each. */
const SAMPLES: readonly unknown[] = ['', 0, false, null, [], {}];

const CONVERSION: ConversionConfig = {
  errorMode: 'ignore',
  // A lazy schema picks by the input (a channel: a secret name, or an object): anyOf what it picks for each JSON type.
  overrideSchema: ({ valibotSchema }) => {
    if (valibotSchema.type !== 'lazy') return undefined;
    const { getter } = valibotSchema as unknown as v.LazySchema<v.GenericSchema>;
    const picks = new Map<string, JsonSchema>();
    for (const sample of SAMPLES) {
      const { $schema: _, ...pick } = toJsonSchema(getter(sample), CONVERSION);
      picks.set(JSON.stringify(pick), pick);
    }
    return picks.size === 1 ? [...picks.values()][0] : { anyOf: [...picks.values()] };
  },
};

/** The JSON Schema of the configuration, as an object. */
export function configJsonSchema(): Record<string, unknown> {
  const { $schema, $defs, ...schema } = toJsonSchema(CONFIG_SCHEMA_FOR_EDITORS, CONVERSION);
  return {
    $schema,
    title: 'vb365-sync-monitor configuration',
    description:
      'Generated from lambda/config-schema.ts by `npm run config-schema`; do not edit. The synth checks more than this schema can say.',
    ...schema,
    // Lazy schemas leave a definition behind even when inlined above; keep $defs only while something refers to it.
    ...($defs && JSON.stringify(schema).includes('"$ref"') ? { $defs } : {}),
  };
}

/** The text of config.schema.json: the schema formatted as the project's formatter (Biome) writes JSON. */
export function configJsonSchemaText(): string {
  const biome = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/@biomejs/biome/bin/biome'), 'format', '--stdin-file-path=config.schema.json'],
    { cwd: ROOT, input: JSON.stringify(configJsonSchema()), encoding: 'utf8' },
  );
  if (biome.status !== 0) throw new Error(`biome format failed: ${biome.stderr}`);
  return biome.stdout;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(CONFIG_SCHEMA_FILE, configJsonSchemaText());
  process.stdout.write('wrote config.schema.json\n');
}
