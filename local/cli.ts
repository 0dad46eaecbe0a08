import { parseArgs } from 'node:util';
import { HttpVb365Api } from '../lambda/adapters/vb365/http-vb365-api.js';
import { demoScenario } from './simulator/scenarios.js';
import { startSimulator } from './simulator/simulator.js';

/*
 * vb365-sync-monitor CLI. For now `demo` walks the embedded simulator's scenario and shows, step by step, what the
 * VB365 client reads from it over HTTPS. The monitoring cycle (state, events, notifications) builds on this.
 */
const { positionals } = parseArgs({ allowPositionals: true, strict: false });
const command = positionals[0] ?? 'demo';

if (command !== 'demo') {
  console.error(`usage: vb365-sync-monitor demo`);
  process.exit(2);
}

const sim = await startSimulator({ scenario: demoScenario });
const api = new HttpVb365Api({
  baseUrl: sim.url,
  ca: sim.pki.caCert,
  credentials: () => ({ username: sim.username, password: sim.password }),
});
console.log(`Embedded VB365 simulator on ${sim.url} (API ${await api.apiVersion()}, TLS with a generated CA)\n`);
const names = new Map<string, string>();
for (let note = sim.step(); note !== undefined; note = sim.step()) {
  console.log(`— ${note}`);
  const { sessions } = await api.listSessions();
  for (const s of sessions) {
    if (s.repositoryId && !names.has(s.repositoryId)) {
      const repo = await api.getRepository(s.repositoryId);
      names.set(s.repositoryId, repo.found ? (repo.value.name ?? s.repositoryId) : s.repositoryId);
    }
    const name = s.repositoryId ? names.get(s.repositoryId) : '(unknown repository)';
    const detail = s.error ? `  error: ${s.error}` : '';
    console.log(
      `   ${String(name).padEnd(26)} ${String(s.state).padEnd(13)} ${String(s.progressPercent ?? '-').padStart(3)} %${detail}`,
    );
  }
  if (sessions.length === 0) console.log('   (no sync sessions listed)');
}
await api.close({ logout: true });
console.log(`\nRequests served: ${JSON.stringify(sim.counters)}`);
await sim.close();
