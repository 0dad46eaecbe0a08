import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/*
 * Reads the configuration file the synth was given: JSON (`-c config=FILE.json`, may carry "$schema") or a module
 * whose default export is the configuration (`-c config=FILE.ts`). What it returns is unchecked; resolveConfig checks.
 */

/** A configuration file that cannot be read or parsed; the message says why, with the JSON error's line and column. */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

/** The configuration in `file` (relative to the working directory), unchecked. */
export async function loadConfigFile(file: string): Promise<unknown> {
  const path = resolve(file);
  if (extname(path).toLowerCase() === '.json') return parseConfigJson(readText(path));
  readText(path); // a missing file is said plainly, not as a module resolution error
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new ConfigFileError(
        `cannot load a ${extname(path)} file here: TypeScript configurations load in a checkout of the repository or on Node.js 22.18 or newer; otherwise use .json, or .mjs with \`export default config;\``,
      );
    }
    throw new ConfigFileError(`cannot load the file: ${firstLine(err)}`);
  }
  if (module.default === undefined) {
    throw new ConfigFileError('the file has no default export: end it with `export default config;`');
  }
  return module.default;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ConfigFileError(
      code === 'ENOENT' ? 'no such file' : `cannot read the file (${typeof code === 'string' ? code : firstLine(err)})`,
    );
  }
}

/** `text` parsed as JSON; a syntax error names its line and column. */
export function parseConfigJson(text: string): unknown {
  const body = text.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(body);
  } catch (err) {
    // V8's message has no position for some errors (it quotes the text around them instead): find it here then.
    const original = firstLine(err);
    const position = /at position (\d+)/.exec(original)?.[1];
    const message = original
      .replace(/( in JSON)? at position \d+.*$/, '')
      .replace(/, (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/, '');
    const at = position === undefined ? (syntaxErrorAt(body) ?? body.length) : Number(position);
    const lines = body.slice(0, at).split('\n');
    const where = `line ${lines.length}, column ${(lines.at(-1) ?? '').length + 1}`;
    throw new ConfigFileError(`invalid JSON at ${where}: ${message}`);
  }
}

const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

/** Offset of the first syntax error in `text` (RFC 8259 JSON), or undefined when there is none. */
function syntaxErrorAt(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const space = () => {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
  };
  const expect = (c: string) => {
    space();
    if (text[i] !== c) fail();
    i++;
  };
  const string = () => {
    expect('"');
    for (;;) {
      const c = text[i];
      if (c === undefined || c < ' ') fail();
      i++;
      if (c === '"') return;
      if (c === '\\') {
        const e = text[i] ?? '';
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) i += 5;
        else if (e !== '' && '"\\/bfnrt'.includes(e)) i++;
        else fail();
      }
    }
  };
  const value = (): void => {
    space();
    const open = text[i];
    if (open === '{' || open === '[') {
      const close = open === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (open === '{') {
          string();
          expect(':');
        }
        value();
        space();
        if (text[i] === close) {
          i++;
          return;
        }
        expect(',');
        space();
      }
    }
    if (open === '"') {
      string();
      return;
    }
    const word = ['true', 'false', 'null'].find((w) => w[0] === open);
    if (word) {
      for (const c of word) {
        if (text[i] !== c) fail();
        i++;
      }
      return;
    }
    NUMBER.lastIndex = i;
    if (!NUMBER.test(text)) fail();
    i = NUMBER.lastIndex;
  };
  try {
    value();
    space();
    if (i < text.length) fail();
    return undefined;
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
