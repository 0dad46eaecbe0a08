/** Tunables of the lifecycle rules (DESIGN §3). */
export interface Policy {
  /** Progress percentages announced with `sync.progress` when crossed, ascending. @default [] (none) */
  readonly milestones: readonly number[];
  /** No progress for this long makes a running session `stalled`. @default 60 min */
  readonly stallAfterMs: number;
  /** Reachable cycles a session must be missing before it is declared ended. @default 2 */
  readonly vanishGraceCycles: number;
  /** The server must fail for this long before `server.unreachable`. @default 15 min */
  readonly unreachableAfterMs: number;
  /** Finished sessions are kept this long (DynamoDB TTL). @default 30 days */
  readonly finishedRetentionMs: number;
}

export const DEFAULT_POLICY: Policy = {
  milestones: [],
  stallAfterMs: 60 * 60_000,
  vanishGraceCycles: 2,
  unreachableAfterMs: 15 * 60_000,
  finishedRetentionMs: 30 * 86_400_000,
};

/**
 * Parses a duration such as `90s`, `15m`, `1h30m`, `2d` or a bare number of minutes into milliseconds; `undefined`
 * when it is not one.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 60_000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== s) return undefined;
  return parts.reduce((total, [, n, unit]) => total + Number(n) * (units[unit as string] ?? 0), 0);
}

/** `1h 5m`, `42s`, `3d 4h`: a compact human duration. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  return `${m}m`;
}
