import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import shipped from '../../infra/monitor-config.js';
import { EVENT_TYPES } from '../../lambda/domain/events.js';
import { appFiles, EMAIL_EVENT_TYPES, ownPackageJson, pinnedVersions } from '../../local/cli/init.js';

describe('init: the versions the new app pins', () => {
  it('finds the package.json named vb365-sync-monitor above the module, past any other', () => {
    const root = mkdtempSync(join(tmpdir(), 'vb365-pkg-'));
    const nested = join(root, 'dist', 'inner');
    mkdirSync(nested, { recursive: true });
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'vb365-sync-monitor', version: '9.8.7' }));
    writeFileSync(join(root, 'dist', 'package.json'), JSON.stringify({ type: 'module' }));

    expect(ownPackageJson(nested)).toMatchObject({ version: '9.8.7' });
    expect(() => ownPackageJson(mkdtempSync(join(tmpdir(), 'vb365-none-')))).toThrow(
      /cannot find the package.json of vb365-sync-monitor/,
    );
  });

  it('takes the exact pins of the development dependencies before the peer ranges', () => {
    const versions = pinnedVersions({
      name: 'vb365-sync-monitor',
      version: '0.2.0',
      devDependencies: { 'aws-cdk-lib': '2.276.0', 'aws-cdk': '2.1148.1' },
      peerDependencies: { 'aws-cdk-lib': '^2.276.0', constructs: '^10.8.1' },
    });

    expect(versions).toEqual({ self: '0.2.0', awsCdkLib: '2.276.0', constructs: '^10.8.1', awsCdk: '2.1148.1' });
    expect(() => pinnedVersions({ name: 'vb365-sync-monitor', version: '0.2.0' })).toThrow(/does not name aws-cdk-lib/);
  });

  it("the example recipient's event types are real ones, monitor.started and the setup and fleet news among them", () => {
    const app = appFiles('x', { self: '0.2.0', awsCdkLib: '2.0.0', constructs: '10.0.0', awsCdk: '2.1.0' })['app.mjs'];
    const listed = [...(app ?? '').matchAll(/^ {10}'([a-z_.]+)',$/gm)].map((m) => m[1]);

    expect(listed.length).toBeGreaterThan(10);
    for (const type of listed) expect(EVENT_TYPES).toContain(type);
    expect(listed).toEqual(
      expect.arrayContaining(['monitor.started', 'server.setup_required', 'monitor.server_not_polled', 'sync.failed']),
    );
  });

  it('pins vb365-sync-monitor to this version, or to what --package names (a tarball as a file: spec)', () => {
    const versions = { self: '0.2.0', awsCdkLib: '2.0.0', constructs: '10.0.0', awsCdk: '2.1.0' };
    const dependency = (spec?: string) =>
      JSON.parse(appFiles('x', versions, spec)['package.json'] as string).dependencies['vb365-sync-monitor'];

    expect(dependency()).toBe('0.2.0');
    expect(dependency('file:../vb365-sync-monitor-0.2.0.tgz')).toBe('file:../vb365-sync-monitor-0.2.0.tgz');
  });

  it("the example recipient gets what the repository's shipped configuration sends it (one list, not two that drift)", () => {
    expect(EMAIL_EVENT_TYPES).toEqual(shipped.notifications?.emails?.[0]?.eventTypes);
  });
});
