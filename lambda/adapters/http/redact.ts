/**
 * Keeps secrets (passwords, tokens, webhook URLs) out of every message and cause that can reach a log. Adapters
 * register each secret the moment they hold it, and pass every string that leaves them through {@link Redactor.text}.
 */
export class Redactor {
  readonly #secrets = new Set<string>();

  /** Remember a secret value; strings shorter than 4 characters are ignored (they would redact ordinary words). */
  add(...secrets: readonly (string | null | undefined)[]): void {
    for (const s of secrets) {
      if (s && s.length >= 4) {
        this.#secrets.add(s);
        // Secrets also travel form- or URL-encoded (token requests, query strings).
        this.#secrets.add(encodeURIComponent(s));
        this.#secrets.add(new URLSearchParams({ s }).toString().slice(2));
      }
    }
  }

  /** `input` with every known secret, and anything shaped like a bearer credential, replaced by `[redacted]`. */
  text(input: string): string {
    let out = input;
    // Longest first, so a secret that contains another one is removed whole.
    for (const s of [...this.#secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('[redacted]');
    return out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]');
  }

  /**
   * A plain Error standing in for `err` as a `cause`: name, code and redacted message only. The original is dropped
   * because transport errors can reference request options (headers, bodies) that a logger would serialise.
   */
  cause(err: unknown): Error {
    const original = err instanceof Error ? err : new Error(String(err));
    const safe = new Error(this.text(original.message));
    safe.name = original.name;
    const code = (original as { code?: unknown }).code;
    if (typeof code === 'string') Object.assign(safe, { code });
    safe.stack = `${safe.name}: ${safe.message}`;
    return safe;
  }
}
