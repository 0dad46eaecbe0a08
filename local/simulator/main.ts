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
const { values } = parseArgs({
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
});

const scenario = scenarios[values.scenario];
if (!scenario) {
  console.error(`unknown scenario ${values.scenario}; known: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
const hosts = values['cert-hosts']?.split(',').map((h) => h.trim());
const sim = await startSimulator({
  port: Number(values.port),
  scenario,
  versions: values.versions.split(',').map((v) => v.trim()) as SimVersion[],
  tokenLifetimeSeconds: Number(values['token-lifetime']),
  ...(values['self-signed'] || hosts
    ? { pki: await generatePki({ selfSigned: values['self-signed'], ...(hosts ? { hosts } : {}) }) }
    : {}),
});
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
const everyMs = Number(values['step-every']) * 1000;
const timer = setInterval(() => {
  const note = sim.step();
  if (note === undefined) {
    console.log('scenario finished; the simulator keeps serving the final state (Ctrl-C to stop)');
    clearInterval(timer);
  } else console.log(`${new Date().toISOString()}  step: ${note}`);
}, everyMs);
const stop = async () => {
  clearInterval(timer);
  await sim.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
