import { lookup } from 'node:dns/promises';
import { isIP, connect as netConnect } from 'node:net';
import { parseArgs } from 'node:util';
import { loadCaBundle } from '../../lambda/adapters/vb365/tls.js';
import { pinProblem } from '../../lambda/connection-checks.js';
import { UpstreamError } from '../../lambda/domain/errors.js';
import {
  CertificateReadError,
  CONNECT_WORDS,
  daysLeft,
  readServerCertificates,
  type ServerCertificates,
  utcMinute,
} from './cert.js';
import { serverUrl, UsageError } from './cli-args.js';

/*
 * `vb365-sync-monitor doctor`: every step between this machine and a usable VB365 REST API, one line each, in the
 * order they happen, stopping at the first that fails with what to do about it. The checks from the token on go
 * through the monitor's own client (HttpVb365Api), so they fail exactly as the monitor would. The password and the
 * tokens are never printed (the client redacts them from every message).
 */

export const DOCTOR_USAGE = `usage: vb365-sync-monitor doctor --server https://HOST:4443 [--ca FILE | --pin SHA256]
  checks, one line each and in order, what the monitor needs from a VB365 server: DNS, TCP, TLS (the certificate's
  fingerprint and expiry, trusted or not), the REST API version, the token (password grant), the session list and
  the repositories. Exit 0 when all pass; exit 1 at the first that fails, with its fix.
  --server URL   the REST API, https://HOST:4443
  --ca FILE      PEM CA bundle (or the server's self-signed certificate); see \`vb365-sync-monitor cert\`
  --pin SHA256   SHA-256 fingerprint of the server certificate
credentials: VB365_USERNAME and VB365_PASSWORD in the environment
  bash:        export VB365_USERNAME='CONTOSO\\svc-vb365-monitor' VB365_PASSWORD='…'
  PowerShell:  $env:VB365_USERNAME = 'CONTOSO\\svc-vb365-monitor'; $env:VB365_PASSWORD = '…'`;

export interface DoctorOptions {
  readonly url: URL;
  /** The --ca file as given (for messages) and its PEM. */
  readonly ca: { readonly file: string; readonly pem: string } | undefined;
  readonly pin: string | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** Connect timeout of the DNS, TCP and TLS probes. @default 5_000 */
  readonly timeoutMs?: number;
}

/** One line of the report. */
export interface CheckResult {
  readonly name: string;
  readonly status: 'ok' | 'FAILED' | 'skipped';
  /** What was found; more lines are indented under the first. */
  readonly detail: readonly string[];
  /** What to do, when it failed. */
  readonly fix?: string;
}

export const CHECKS = ['DNS', 'TCP', 'TLS', 'API version', 'token', 'session list', 'repositories'] as const;

type Outcome = { readonly ok: true; readonly detail: readonly string[] } | Failure;
interface Failure {
  readonly ok: false;
  readonly detail: readonly string[];
  readonly fix: string;
}

const fail = (detail: string, fix: string): Failure => ({ ok: false, detail: [detail], fix });

/** Runs the checks in order, calling `report` for each line as it is known; stops at the first failure. */
export async function runDoctor(
  options: DoctorOptions,
  report: (line: CheckResult) => void,
  now: () => Date = () => new Date(),
): Promise<CheckResult[]> {
  const { url } = options;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port) || 443;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const certCommand = `vb365-sync-monitor cert --server ${url.origin} --out vb365.pem`;
  const { vb365ApiFor } = await import('../../lambda/wiring.js');
  const api = vb365ApiFor(
    {
      url: url.toString(),
      ca: options.ca?.pem,
      pinSha256: options.pin,
      credentials: () => ({ username: options.username ?? '', password: options.password ?? '' }),
    },
    { maxRetries: 1, callDeadlineMs: 20_000, connectTimeoutMs: timeoutMs },
  );
  let seen: ServerCertificates | undefined;
  /** The version probe, made by the TLS check: its first request is where the monitor's connector decides trust. */
  let probe: Promise<{ version: string } | { error: unknown }> | undefined;

  const steps: Record<(typeof CHECKS)[number], () => Promise<Outcome>> = {
    DNS: async () => {
      if (isIP(host) !== 0) return { ok: true, detail: [`${host} is an address: no lookup`] };
      try {
        const found = await lookup(host, { all: true });
        return { ok: true, detail: [`${host} is ${found.map((a) => a.address).join(', ')}`] };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'ENOTFOUND';
        return fail(
          `${host}: ${code === 'ENOTFOUND' ? 'no such host' : 'the lookup failed'} (${code})`,
          `check the name and this machine's DNS (nslookup ${host}); or use the server's IP address: its certificate names the host, so trust it with --pin (${certCommand} prints it)`,
        );
      }
    },
    TCP: async () => {
      // By name, as the client connects (every address the name has, IPv6 and IPv4 raced).
      const { code, address } = await tcpProbe(host, port, timeoutMs);
      if (code === undefined) return { ok: true, detail: [`${address}:${port} accepts connections`] };
      const words = CONNECT_WORDS[code] ?? code;
      const [what, fix] = words.includes(': ') ? splitOnce(words, ': ') : [words, 'check the network path'];
      return fail(`${host}:${port}: ${what} (${code})`, fix);
    },
    TLS: async () => {
      try {
        seen = await readServerCertificates(url, timeoutMs);
      } catch (err) {
        if (!(err instanceof CertificateReadError)) throw err;
        return fail(err.message, 'check that the URL names the REST API port (default 4443), served over HTTPS');
      }
      const leaf = seen.chain[0];
      const left = leaf ? daysLeft(leaf.validTo, now()) : 0;
      const facts = leaf
        ? [
            `certificate ${leaf.subject}${leaf.selfSigned ? ' (self-signed)' : `, issued by ${leaf.issuer}`}, SHA-256 ${leaf.fingerprint256}`,
            `valid until ${utcMinute(leaf.validTo)} (${left < 0 ? `expired ${-left} days ago` : `${left} days left`})`,
          ]
        : [];
      // Trust is decided by the monitor's own TLS connector, on the first request (the unauthenticated version probe):
      // a refused certificate fails it before a byte of HTTP is sent.
      probe = api.apiVersion().then(
        (version) => ({ version }),
        (error: unknown) => ({ error }),
      );
      const { error: err } = (await probe) as { error?: unknown };
      if (err !== undefined) {
        if (err instanceof UpstreamError && err.kind === 'tls') {
          // With --pin the usual cause on a first check is the pin itself (mistyped, another server's): say both.
          const pinned = options.pin && !options.ca;
          const reason = pinned
            ? `the certificate does not match --pin ${options.pin}: the server presents SHA-256 ${leaf?.fingerprint256 ?? '(unknown)'}`
            : err.message;
          return {
            ok: false,
            detail: [`${seen.protocol}, NOT TRUSTED`, ...facts],
            fix: `${reason}. \`${certCommand}\` shows the certificate, writes its PEM and prints the --ca or --pin to use`,
          };
        }
        // Any other failure happened after the handshake: the API version check reports it.
      }
      const by = options.pin
        ? `the pin${options.ca ? ` and --ca ${options.ca.file}` : ''}`
        : options.ca
          ? `--ca ${options.ca.file}`
          : "Node's bundled CAs";
      return { ok: true, detail: [`${seen.protocol}, trusted by ${by}`, ...facts] };
    },
    'API version': async () => {
      const result = await (probe ?? api.apiVersion().then((version) => ({ version })));
      if ('version' in result)
        return {
          ok: true,
          detail: [`${result.version} (the newest of v8…v5 that GET /{version}/ServiceInstance answers)`],
        };
      return upstreamFailure(
        result.error,
        'check that the URL is the VB365 REST API (https://HOST:4443) and that it runs',
      );
    },
    token: async () => {
      if (!options.username || !options.password) {
        return fail(
          'VB365_USERNAME and VB365_PASSWORD are not set',
          "set them for this shell: bash: export VB365_USERNAME='CONTOSO\\svc-vb365-monitor' VB365_PASSWORD='…'; PowerShell: $env:VB365_USERNAME = 'CONTOSO\\svc-vb365-monitor'; $env:VB365_PASSWORD = '…'",
        );
      }
      try {
        await api.login();
        return { ok: true, detail: [`password grant accepted for ${options.username}`] };
      } catch (err) {
        return upstreamFailure(
          err,
          'the server refused the user name or the password: check VB365_USERNAME (a domain account as DOMAIN\\user; in bash, in single quotes) and VB365_PASSWORD, and that the account may log in to the VB365 REST API',
        );
      }
    },
    'session list': async () => {
      try {
        const list = await api.listSessions();
        const states = countBy(list.sessions.map((s) => s.state ?? 'unknown'));
        return {
          ok: true,
          detail: [
            `${plural(list.sessions.length, 'sync session')} listed${states ? ` (${states})` : ''}${list.malformed.length ? `, ${list.malformed.length} malformed (skipped)` : ''}`,
          ],
        };
      } catch (err) {
        return upstreamFailure(
          err,
          'the account logs in but may not read sync sessions: give it read access to the REST API (and check that "Enable restore operator authentication only" is off in the REST API settings)',
        );
      }
    },
    repositories: async () => {
      try {
        const repositories = await api.listRepositories();
        const outOfSync = repositories.filter((r) => r.isOutOfSync === true).length;
        const names = repositories.map((r) => r.name ?? r.id).slice(0, 5);
        return {
          ok: true,
          detail: [
            `${plural(repositories.length, 'backup repository', 'backup repositories')} read${outOfSync ? `, ${outOfSync} out of sync` : ''}${names.length ? `: ${names.join(', ')}${repositories.length > names.length ? ', …' : ''}` : ''}`,
          ],
        };
      } catch (err) {
        return upstreamFailure(err, 'the account may not read backup repositories: give it read access to them');
      }
    },
  };

  const results: CheckResult[] = [];
  try {
    let failed = false;
    for (const name of CHECKS) {
      let result: CheckResult;
      if (failed) result = { name, status: 'skipped', detail: [] };
      else {
        const outcome = await steps[name]();
        result = outcome.ok
          ? { name, status: 'ok', detail: outcome.detail }
          : { name, status: 'FAILED', detail: outcome.detail, fix: outcome.fix };
        failed = !outcome.ok;
      }
      results.push(result);
      report(result);
    }
  } finally {
    await api.close({ logout: true });
  }
  return results;
}

/** A failed client call as a check result: the client's message (redacted), and for `auth` errors `authFix`. */
function upstreamFailure(err: unknown, authFix: string): Failure {
  if (!(err instanceof UpstreamError)) throw err;
  const fixes: Record<string, string> = {
    auth: authFix,
    setup: 'store the credentials first',
    unreachable: 'the server stopped answering usably: check that the REST API service runs, then run doctor again',
    unsupported:
      'check the URL and port (default 4443): this answers HTTPS but serves no VB365 REST API version the monitor knows (v5 to v8)',
    response: 'the server answered with something the monitor cannot use: check that the URL is the VB365 REST API',
    tls: 'see the TLS check',
  };
  return fail(err.message, fixes[err.kind] ?? 'see the message');
}

/** The address that accepted a TCP connection to `host:port`, or the error code. */
function tcpProbe(host: string, port: number, timeoutMs: number): Promise<{ code?: string; address?: string }> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const done = (result: { code?: string; address?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ code: 'ETIMEDOUT' }), timeoutMs);
    socket.once('connect', () => done({ address: socket.remoteAddress ?? host }));
    // Several addresses that all failed: an AggregateError, whose first error says why.
    socket.once('error', (err: NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] }) =>
      done({ code: err.code ?? err.errors?.[0]?.code ?? 'ECONNREFUSED' }),
    );
  });
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return [text.slice(0, at), text.slice(at + separator.length)];
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `Synchronizing 2, Failed 1`, or `''`. */
function countBy(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
}

/** The report as text lines: name, status, detail; indented continuation lines; the fix under a failure. */
export function formatCheck(result: CheckResult): string {
  const head = `${result.name.padEnd(14)}${result.status.padEnd(8)}`;
  const indent = ' '.repeat(head.length);
  const [first = '', ...more] = result.detail;
  const lines = [`${head}${first}`.trimEnd(), ...more.map((l) => `${indent}${l}`)];
  if (result.fix) lines.push(`${indent}fix: ${result.fix}`);
  return lines.join('\n');
}

/** `vb365-sync-monitor doctor`. */
export async function doctorCommand(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let values: { server?: string; ca?: string; pin?: string };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { server: { type: 'string' }, ca: { type: 'string' }, pin: { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`doctor: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  const url = serverUrl(values.server, problems);
  const pinIssue = values.pin === undefined ? undefined : pinProblem(values.pin);
  if (pinIssue !== undefined) problems.push(`--pin ${values.pin} is not a SHA-256 fingerprint: ${pinIssue}`);
  let ca: DoctorOptions['ca'];
  if (values.ca !== undefined) {
    try {
      ca = { file: values.ca, pem: loadCaBundle(values.ca) };
    } catch (err) {
      problems.push(`--ca: ${(err as Error).message}`);
    }
  }
  if (!url || problems.length > 0) throw new UsageError(`doctor: ${problems.join('\n')}`);
  const results = await runDoctor(
    { url, ca, pin: values.pin, username: env.VB365_USERNAME, password: env.VB365_PASSWORD },
    (line) => process.stdout.write(`${formatCheck(line)}\n`),
  );
  const failed = results.find((r) => r.status === 'FAILED');
  if (failed) {
    process.stderr.write(`vb365-sync-monitor: doctor: the ${failed.name} check failed: ${failed.fix ?? ''}\n`);
    return 1;
  }
  process.stdout.write(`all ${results.length} checks passed: the monitor can use ${url.origin} with these settings\n`);
  return 0;
}
