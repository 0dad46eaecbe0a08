import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePki } from './certs.js';
import { scenarios } from './scenarios.js';
import { type SimVersion, startSimulator } from './simulator.js';

/*
 * Runs the VB365 simulator by hand, e.g. to point `vb365-sync-monitor run` at it:
 *   npm run simulator -- --port 4443 --step-every 30
 * It writes the CA certificate to <dir>/ca.pem and prints the URL, the certificate's pin and the credentials.
 * With --self-signed it presents a self-signed certificate, as VB365 does by default (ca.pem is then that certificate).
 * --cert-hosts sets the names the certificate holds (default localhost, 127.0.0.1, ::1): VB365's default certificate
 * names the Windows host only, e.g. `--self-signed --cert-hosts vb365-prod.corp.example`, which the monitor then
 * trusts at 127.0.0.1 by its pin alone.
 */

export const SIMULATOR_USAGE = `usage: vb365-sync-monitor simulator [options]      (in a checkout: npm run simulator -- [options])
  a VB365 REST API stand-in on https://127.0.0.1:PORT playing a scenario; writes its CA to DIR/ca.pem and prints the
  URL, the certificate's SHA-256 pin and the credentials; Ctrl-C stops it
  --port PORT           port to listen on (default 4443)
  --scenario NAME       ${Object.keys(scenarios).join(', ')} (default demo)
  --step-every SECONDS  seconds between scenario steps (default 30)
  --versions LIST       API versions served (default v5,v6,v7,v8)
  --token-lifetime S    access-token lifetime in seconds (default 3600)
  --dir DIR             where ca.pem is written (default .simulator)
  --self-signed         a self-signed certificate, as VB365 makes by default
  --cert-hosts LIST     names the certificate holds (default localhost,127.0.0.1,::1)`;

/** Starts the simulator as the arguments say; resolves with the exit code once it is stopped (or at once on a usage error). */
export async function simulatorMain(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${SIMULATOR_USAGE}\n`);
    return 0;
  }
  let values: ReturnType<typeof parseOptions>;
  try {
    values = parseOptions(argv);
  } catch (err) {
    return usageError((err as Error).message);
  }

  const scenario = scenarios[values.scenario];
  if (!scenario) return usageError(`unknown scenario ${values.scenario}; known: ${Object.keys(scenarios).join(', ')}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return usageError(`--port ${values.port} is not a port`);
  const stepEvery = Number(values['step-every']);
  if (!(stepEvery > 0)) return usageError(`--step-every ${values['step-every']} must be a number of seconds`);
  const tokenLifetime = Number(values['token-lifetime']);
  if (!(tokenLifetime > 0))
    return usageError(`--token-lifetime ${values['token-lifetime']} must be a number of seconds`);
  const versions = values.versions.split(',').map((v) => v.trim());
  const unknown = versions.filter((v) => !['v5', 'v6', 'v7', 'v8'].includes(v));
  if (unknown.length > 0) return usageError(`--versions: ${unknown.join(', ')} not one of v5, v6, v7, v8`);
  const hosts = values['cert-hosts']?.split(',').map((h) => h.trim());

  let sim: Awaited<ReturnType<typeof startSimulator>>;
  try {
    sim = await startSimulator({
      port,
      scenario,
      versions: versions as SimVersion[],
      tokenLifetimeSeconds: tokenLifetime,
      ...(values['self-signed'] || hosts
        ? { pki: await generatePki({ selfSigned: values['self-signed'], ...(hosts ? { hosts } : {}) }) }
        : {}),
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    process.stderr.write(
      `vb365-sync-monitor: simulator: ${code === 'EADDRINUSE' ? `port ${port} is in use: pick another with --port` : (err as Error).message}\n`,
    );
    return 1;
  }
  const dir = resolve(values.dir);
  mkdirSync(dir, { recursive: true });
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, sim.pki.caCert);
  console.log(`VB365 simulator on ${sim.url} (scenario "${scenario.name}")`);
  console.log(`  CA bundle:   ${caFile}${values['self-signed'] ? ' (the self-signed certificate)' : ''}`);
  const urlHost = new URL(sim.url).hostname;
  if (hosts && !hosts.includes(urlHost)) {
    console.log(`  (the certificate names ${hosts.join(', ')}, not ${urlHost}: at ${sim.url} only the pin trusts it)`);
  }
  console.log(`  pin SHA-256: ${sim.pki.serverFingerprint256}`);
  console.log(`  credentials: VB365_USERNAME=${sim.username} VB365_PASSWORD=${sim.password}`);
  const timer = setInterval(() => {
    const note = sim.step();
    if (note === undefined) {
      console.log('scenario finished; the simulator keeps serving the final state (Ctrl-C to stop)');
      clearInterval(timer);
    } else console.log(`${new Date().toISOString()}  step: ${note}`);
  }, stepEvery * 1000);
  return new Promise<number>((done) => {
    const stop = async () => {
      clearInterval(timer);
      await sim.close();
      done(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string', default: '4443' },
      scenario: { type: 'string', default: 'demo' },
      'step-every': { type: 'string', default: '30' },
      versions: { type: 'string', default: 'v5,v6,v7,v8' },
      'token-lifetime': { type: 'string', default: '3600' },
      dir: { type: 'string', default: '.simulator' },
      'self-signed': { type: 'boolean', default: false },
      'cert-hosts': { type: 'string' },
    },
    strict: true,
  }).values;
}

function usageError(message: string): number {
  process.stderr.write(`vb365-sync-monitor: simulator: ${message}\n${SIMULATOR_USAGE}\n`);
  return 2;
}
