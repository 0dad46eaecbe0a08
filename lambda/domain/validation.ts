import * as v from 'valibot';

/*
 * How configuration problems are found and told (pure). Schemas are valibot's; every object is strict, so a misspelt
 * key is an error naming the nearest valid one; every issue becomes one line `field: value — fix`, all at once.
 */

/** The valid name closest to `key` (edit distance, case-insensitive), when it is close enough to be a typo. */
export function nearestName(key: string, names: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(best.name.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** Marks an issue about an unknown key (its value is the key, not a value to quote). */
const UNKNOWN_KEY = 'unknown key — ';

/**
 * A strict object: a key it does not know is an issue that names the nearest known key ("did you mean …?") or lists
 * them all.
 */
export function strictObject<const E extends v.ObjectEntries>(entries: E) {
  const names = Object.keys(entries);
  return v.strictObject(entries, (issue) => {
    const key = String(issue.input);
    const near = nearestName(key, names);
    return `${UNKNOWN_KEY}${near ? `did you mean ${near}?` : `use one of ${names.join(', ')}`}`;
  });
}

/** `servers[2].credentials.secretName`: the issue's path as the user wrote it. */
export function fieldOf(path: readonly { readonly key: unknown }[] | undefined, prefix = ''): string {
  let field = prefix;
  for (const item of path ?? []) {
    if (typeof item.key === 'number') field += `[${item.key}]`;
    else field += field === '' ? String(item.key) : `.${String(item.key)}`;
  }
  return field === '' ? '(configuration)' : field;
}

/**
 * Every issue as `field: value — fix`. `shown` turns a value into what may be quoted (e.g. masks credentials in URLs);
 * `undefined` (a missing field) is quoted as `undefined`.
 */
export function problemsOf(
  issues: readonly v.BaseIssue<unknown>[],
  shown: (value: unknown) => unknown = (value) => value,
  prefix = '',
): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const issue of issues) {
    const field = fieldOf(issue.path, prefix);
    const line = issue.message.startsWith(UNKNOWN_KEY)
      ? `${field}: ${issue.message}`
      : `${field}: ${quote(shown(valueIn(issue)))} — ${issue.message}`;
    if (!seen.has(line)) problems.push(line);
    seen.add(line);
  }
  return problems;
}

/** The value the issue is about: the field's (a check forwarded to a field reports the whole object as input). */
function valueIn(issue: v.BaseIssue<unknown>): unknown {
  const last = issue.path?.at(-1);
  return last && 'value' in last ? last.value : issue.input;
}

function quote(value: unknown): string {
  return value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
}

/** A whole number from `min` to `max`, with the fix in every message. */
export function wholeNumber(min: number, max: number, description: string) {
  const fix = `use a whole number from ${min} to ${max}`;
  return v.pipe(v.number(fix), v.integer(fix), v.minValue(min, fix), v.maxValue(max, fix), v.description(description));
}
