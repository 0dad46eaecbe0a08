import type { Scenario, ScenarioAction } from './simulator.js';

/** Repository and session ids of the demo, fixed so runs are comparable. */
export const DEMO_IDS = {
  s3Repo: '3f6a2b1c-8d4e-4f5a-9b6c-7d8e9f0a1b2c',
  wasabiRepo: '5b7c9d1e-2f3a-4b5c-8d6e-9f0a1b2c3d4e',
  azureRepo: '7d9e1f2a-3b4c-4d5e-8f6a-0b1c2d3e4f5a',
  minioRepo: '9f1a2b3c-4d5e-4f6a-8b7c-1d2e3f4a5b6c',
  s3Sync: 'a4c1e7f2-6b3d-4e8a-9c5f-2d7b8e1a3f60',
  wasabiSync: 'b5d2f8a3-7c4e-4f9b-8d6a-3e8c9f2b4a71',
  azureSync: 'c6e3a9b4-8d5f-4a1c-9e7b-4f9d1a3c5b82',
  minioSync: 'd7f4b1c5-9e6a-4b2d-8f8c-5a1e2b4d6c93',
  s3Resync: 'e8a5c2d6-0f7b-4c3e-9a9d-6b2f3c5e7da4',
  azureResync: 'f9b6d3e7-1a8c-4d4f-8bae-7c3a4d6f8eb5',
  exchangeJob: '0a1b2c3d-1111-4e5f-8a9b-0c1d2e3f4a01',
  sharePointJob: '0a1b2c3d-2222-4e5f-8a9b-0c1d2e3f4a02',
  glacierCopy: '0a1b2c3d-3333-4e5f-8a9b-0c1d2e3f4a03',
  exchangeRun: '1b2c3d4e-1111-4f5a-9b0c-1d2e3f4a5b01',
  sharePointRun: '1b2c3d4e-2222-4f5a-9b0c-1d2e3f4a5b02',
} as const;

/** What VB365's health check says when its configuration database is down. */
const POSTGRES_DOWN =
  'Failed to connect to 127.0.0.1:5432: No connection could be made because the target machine actively refused it.';
const HEALTH_DOWN: ScenarioAction = {
  op: 'health',
  status: 'Unhealthy',
  entries: [
    { name: 'PostgreSQL', status: 'Unhealthy', description: POSTGRES_DOWN },
    { name: 'NATS', status: 'Healthy', description: null },
  ],
};
const HEALTH_UP: ScenarioAction = {
  op: 'health',
  status: 'Healthy',
  entries: [
    { name: 'PostgreSQL', status: 'Healthy', description: null },
    { name: 'NATS', status: 'Healthy', description: null },
  ],
};

const I = DEMO_IDS;

/**
 * The demo: four object-storage repositories lose their cache and resynchronise. One completes after going to
 * `None`, one stalls and then fails, one completes by vanishing from the list, one is stopped (vanishes while its
 * repository is still out of sync). Then the configuration database fails: the health check says so, two caches go
 * out of sync with it as their likely cause, and they resynchronise with a forecast from their previous syncs. One
 * step per poll cycle.
 */
export const demoScenario: Scenario = {
  name: 'demo',
  description:
    'four repository syncs: completed, stalled then failed, completed by vanishing, stopped; then a database fault',
  repositories: [
    { id: I.s3Repo, name: 'S3 Immutable (eu-west-1)', isOutOfSync: false },
    { id: I.wasabiRepo, name: 'Wasabi Archive', isOutOfSync: false },
    { id: I.azureRepo, name: 'Azure Blob (West Europe)', isOutOfSync: false },
    { id: I.minioRepo, name: 'MinIO On-Prem', isOutOfSync: false },
  ],
  jobs: [
    { id: I.exchangeJob, name: 'Exchange Online daily', repositoryId: I.s3Repo, nextRun: '2026-11-28T12:30:00.000Z' },
    { id: I.sharePointJob, name: 'SharePoint nightly', repositoryId: I.azureRepo, nextRun: '2026-11-28T22:00:00.000Z' },
    {
      id: I.glacierCopy,
      name: 'Copy to Glacier',
      kind: 'copy',
      repositoryId: I.wasabiRepo,
      nextRun: '2026-11-29T02:00:00.000Z',
    },
  ],
  steps: [
    { note: 'nothing running yet', actions: [] },
    {
      note: 'S3 and Wasabi syncs start',
      actions: [
        { op: 'start', session: I.s3Sync, repository: I.s3Repo, progress: 0 },
        { op: 'start', session: I.wasabiSync, repository: I.wasabiRepo, progress: 0 },
      ],
    },
    {
      note: 'both progress; Azure and MinIO syncs start',
      actions: [
        { op: 'progress', session: I.s3Sync, progress: 20 },
        { op: 'progress', session: I.wasabiSync, progress: 12 },
        { op: 'start', session: I.azureSync, repository: I.azureRepo, progress: 0 },
        { op: 'start', session: I.minioSync, repository: I.minioRepo, progress: 0 },
      ],
    },
    {
      note: 'S3, Azure and MinIO move on; Wasabi does not',
      actions: [
        { op: 'progress', session: I.s3Sync, progress: 45 },
        { op: 'progress', session: I.azureSync, progress: 50 },
        { op: 'progress', session: I.minioSync, progress: 30 },
      ],
    },
    {
      note: 'S3 at 80 %; an admin stops the MinIO sync (it vanishes, its repository still out of sync)',
      actions: [
        { op: 'progress', session: I.s3Sync, progress: 80 },
        { op: 'progress', session: I.azureSync, progress: 95 },
        { op: 'vanish', session: I.minioSync },
      ],
    },
    {
      note: 'the VB365 REST API service stops; meanwhile Azure finishes (vanishes, back in sync)',
      actions: [
        { op: 'service', running: false },
        { op: 'vanish', session: I.azureSync },
        { op: 'inSync', repository: I.azureRepo },
      ],
    },
    { note: 'the REST API service is still down', actions: [] },
    {
      note: 'the REST API service is back; S3 moved on meanwhile',
      actions: [
        { op: 'service', running: true },
        { op: 'progress', session: I.s3Sync, progress: 90 },
      ],
    },
    {
      note: 'Wasabi fails',
      actions: [
        {
          op: 'fail',
          session: I.wasabiSync,
          error: 'Unable to access object storage: The remote server returned an error: (403) Forbidden.',
        },
      ],
    },
    {
      note: 'S3 finishes: state None, repository back in sync',
      actions: [
        { op: 'state', session: I.s3Sync, state: 'None', progress: 100 },
        { op: 'inSync', repository: I.s3Repo },
      ],
    },
    {
      note: 'PostgreSQL, the configuration database, stops: the health check fails; S3 and Azure caches out of sync',
      actions: [
        HEALTH_DOWN,
        { op: 'inSync', repository: I.s3Repo, isOutOfSync: true },
        { op: 'inSync', repository: I.azureRepo, isOutOfSync: true },
      ],
    },
    { note: 'PostgreSQL still down; nothing syncs the two caches', actions: [] },
    { note: 'PostgreSQL still down: the two caches out of sync for 40 minutes', actions: [] },
    {
      note: 'PostgreSQL is back; the S3 and Azure caches resynchronise',
      actions: [
        HEALTH_UP,
        { op: 'start', session: I.s3Resync, repository: I.s3Repo, progress: 0 },
        { op: 'start', session: I.azureResync, repository: I.azureRepo, progress: 0 },
      ],
    },
    {
      note: 'both resyncs finish (they vanish, the caches are in sync)',
      actions: [
        { op: 'vanish', session: I.s3Resync },
        { op: 'vanish', session: I.azureResync },
        { op: 'inSync', repository: I.s3Repo },
        { op: 'inSync', repository: I.azureRepo },
      ],
    },
    { note: 'quiet', actions: [] },
    {
      note: 'the first backups after the resyncs: Exchange Online daily succeeds, SharePoint nightly fails',
      actions: [
        { op: 'jobRun', job: I.exchangeJob, session: I.exchangeRun, status: 'Success' },
        {
          op: 'jobRun',
          job: I.sharePointJob,
          session: I.sharePointRun,
          status: 'Failed',
          details: 'Repository is locked by another process',
        },
      ],
    },
  ],
};

/** Ids of the feature scenarios below (proxies, jobs, organizations, sessions), fixed so runs are comparable. */
export const SCENARIO_IDS = {
  proxyA: '1a2b3c4d-0001-4a5b-8c6d-7e8f9a0b1c01',
  proxyB: '1a2b3c4d-0002-4a5b-8c6d-7e8f9a0b1c02',
  repoEu: '2b3c4d5e-0001-4b6c-9d7e-8f9a0b1c2d01',
  repoUs: '2b3c4d5e-0002-4b6c-9d7e-8f9a0b1c2d02',
  repoArchive: '2b3c4d5e-0003-4b6c-9d7e-8f9a0b1c2d03',
  repoContosoMail: '2b3c4d5e-0004-4b6c-9d7e-8f9a0b1c2d04',
  repoContosoSites: '2b3c4d5e-0005-4b6c-9d7e-8f9a0b1c2d05',
  repoFabrikam: '2b3c4d5e-0006-4b6c-9d7e-8f9a0b1c2d06',
  jobEu: '3c4d5e6f-0001-4c7d-8e9f-9a0b1c2d3e01',
  jobUs: '3c4d5e6f-0002-4c7d-8e9f-9a0b1c2d3e02',
  copyArchive: '3c4d5e6f-0003-4c7d-8e9f-9a0b1c2d3e03',
  jobContoso: '3c4d5e6f-0004-4c7d-8e9f-9a0b1c2d3e04',
  jobFabrikam: '3c4d5e6f-0005-4c7d-8e9f-9a0b1c2d3e05',
  orgContoso: '4d5e6f7a-0001-4d8e-9f0a-0b1c2d3e4f01',
  orgFabrikam: '4d5e6f7a-0002-4d8e-9f0a-0b1c2d3e4f02',
  syncEu: '5e6f7a8b-0001-4e9f-8a1b-1c2d3e4f5a01',
  syncUs: '5e6f7a8b-0002-4e9f-8a1b-1c2d3e4f5a02',
  syncArchive: '5e6f7a8b-0003-4e9f-8a1b-1c2d3e4f5a03',
  syncContoso: '5e6f7a8b-0004-4e9f-8a1b-1c2d3e4f5a04',
  syncFabrikam: '5e6f7a8b-0005-4e9f-8a1b-1c2d3e4f5a05',
  runEuFirst: '6f7a8b9c-0001-4f0a-9b2c-2d3e4f5a6b01',
  runEuBefore: '6f7a8b9c-0002-4f0a-9b2c-2d3e4f5a6b02',
} as const;

const X = SCENARIO_IDS;
const BUILD = '8.1.0.305';
const UPGRADED_BUILD = '8.2.0.120';

/** Two proxies, three object-storage repositories (one long-term, with a copy job), a backup job on each of the others. */
const infrastructure = {
  build: BUILD,
  proxies: [
    { id: X.proxyA, name: 'vb365-proxy-01.corp.example', status: 'Online', version: BUILD },
    { id: X.proxyB, name: 'vb365-proxy-02.corp.example', status: 'Online', version: BUILD },
  ],
  repositories: [
    { id: X.repoEu, name: 'S3 Immutable (eu-west-1)', isOutOfSync: false, proxyId: X.proxyA },
    { id: X.repoUs, name: 'Wasabi (us-east-1)', isOutOfSync: false, proxyId: X.proxyA },
    { id: X.repoArchive, name: 'Glacier Archive', isOutOfSync: false, proxyId: X.proxyB },
  ],
  jobs: [
    { id: X.jobEu, name: 'Mailboxes EU nightly', repositoryId: X.repoEu, nextRunIn: 600, lastStatus: 'Success' },
    { id: X.jobUs, name: 'OneDrive US nightly', repositoryId: X.repoUs, nextRunIn: 900, lastStatus: 'Success' },
    {
      id: X.copyArchive,
      name: 'Copy to Glacier',
      kind: 'copy' as const,
      repositoryId: X.repoArchive,
      backupJobId: X.jobEu,
      nextRunIn: 1_800,
      lastStatus: 'Success',
    },
  ],
};

/**
 * A product upgrade: the build changes, the repositories and a proxy go Out of Date (jobs do not run meanwhile), then the
 * proxy and the repositories are upgraded and the blocked job runs again.
 */
export const upgradeScenario: Scenario = {
  name: 'upgrade',
  description: 'the server is upgraded; repositories and a proxy are Out of Date until upgraded too',
  ...infrastructure,
  steps: [
    { at: 0, note: 'normal operation', actions: [] },
    {
      at: 60,
      note: `VB365 upgraded to ${UPGRADED_BUILD}: every repository is Out of Date, proxy 01 still runs ${BUILD}`,
      actions: [
        { op: 'build', version: UPGRADED_BUILD },
        { op: 'proxy', id: X.proxyB, version: UPGRADED_BUILD },
        { op: 'repository', id: X.repoEu, isOutdated: true },
        { op: 'repository', id: X.repoUs, isOutdated: true },
        { op: 'repository', id: X.repoArchive, isOutdated: true },
      ],
    },
    { at: 120, note: 'still Out of Date: the nightly jobs do not run', actions: [] },
    {
      at: 180,
      note: `proxy 01 upgraded to ${UPGRADED_BUILD}`,
      actions: [{ op: 'proxy', id: X.proxyA, version: UPGRADED_BUILD }],
    },
    {
      at: 240,
      note: 'repositories upgraded',
      actions: [
        { op: 'repository', id: X.repoEu, isOutdated: false },
        { op: 'repository', id: X.repoUs, isOutdated: false },
        { op: 'repository', id: X.repoArchive, isOutdated: false },
      ],
    },
    {
      at: 300,
      note: 'the EU job runs again and succeeds',
      actions: [
        { op: 'jobRun', job: X.jobEu, session: X.runEuFirst, status: 'Success' },
        { op: 'job', id: X.jobEu, nextRunIn: 86_400 },
      ],
    },
  ],
};

/**
 * The PostgreSQL configuration database fails: Health turns Unhealthy and every repository goes out of sync at once
 * (v8 keeps each repository's persistent cache in that database); the database comes back and the syncs complete.
 */
export const databaseFaultScenario: Scenario = {
  name: 'database-fault',
  description: 'PostgreSQL fails: Health Unhealthy, three repositories out of sync at once, then recovery',
  ...infrastructure,
  steps: [
    { at: 0, note: 'normal operation', actions: [] },
    {
      at: 60,
      note: 'PostgreSQL down: Health Unhealthy, all three repositories out of sync',
      actions: [
        {
          op: 'health',
          status: 'Unhealthy',
          entries: [
            { name: 'PostgreSQL', status: 'Unhealthy', description: POSTGRES_DOWN },
            { name: 'NATS', status: 'Healthy', description: null },
          ],
        },
        { op: 'inSync', repository: X.repoEu, isOutOfSync: true },
        { op: 'inSync', repository: X.repoUs, isOutOfSync: true },
        { op: 'inSync', repository: X.repoArchive, isOutOfSync: true },
      ],
    },
    {
      at: 120,
      note: 'PostgreSQL back: Health Healthy; the three cache syncs start',
      actions: [
        {
          op: 'health',
          status: 'Healthy',
          entries: [
            { name: 'PostgreSQL', status: 'Healthy', description: null },
            { name: 'NATS', status: 'Healthy', description: null },
          ],
        },
        { op: 'start', session: X.syncEu, repository: X.repoEu, progress: 0 },
        { op: 'start', session: X.syncUs, repository: X.repoUs, progress: 0 },
        { op: 'start', session: X.syncArchive, repository: X.repoArchive, progress: 0 },
      ],
    },
    {
      at: 180,
      note: 'the syncs progress',
      actions: [
        { op: 'progress', session: X.syncEu, progress: 60 },
        { op: 'progress', session: X.syncUs, progress: 45 },
        { op: 'progress', session: X.syncArchive, progress: 80 },
      ],
    },
    {
      at: 240,
      note: 'all three syncs complete (vanish, back in sync)',
      actions: [
        { op: 'vanish', session: X.syncEu },
        { op: 'vanish', session: X.syncUs },
        { op: 'vanish', session: X.syncArchive },
        { op: 'inSync', repository: X.repoEu },
        { op: 'inSync', repository: X.repoUs },
        { op: 'inSync', repository: X.repoArchive },
      ],
    },
  ],
};

/** Proxy 01 (serving two repositories) goes offline while a sync of one of them runs, then comes back. */
export const proxyOfflineScenario: Scenario = {
  name: 'proxy-offline',
  description: 'a proxy serving two repositories goes offline, later back',
  ...infrastructure,
  steps: [
    {
      at: 0,
      note: 'the EU repository resynchronises',
      actions: [{ op: 'start', session: X.syncEu, repository: X.repoEu, progress: 10 }],
    },
    {
      at: 60,
      note: 'proxy 01 goes Offline: the EU sync stops moving',
      actions: [
        { op: 'proxy', id: X.proxyA, status: 'Offline' },
        { op: 'progress', session: X.syncEu, progress: 25 },
      ],
    },
    { at: 120, note: 'proxy 01 still Offline', actions: [] },
    { at: 180, note: 'proxy 01 back Online', actions: [{ op: 'proxy', id: X.proxyA, status: 'Online' }] },
    { at: 240, note: 'the EU sync moves on', actions: [{ op: 'progress', session: X.syncEu, progress: 70 }] },
    {
      at: 300,
      note: 'the EU sync completes',
      actions: [
        { op: 'vanish', session: X.syncEu },
        { op: 'inSync', repository: X.repoEu },
      ],
    },
  ],
};

/** A resync completes, then the job it blocked runs: its first run after the sync ends with `status`. */
function firstBackup(name: string, status: 'Success' | 'Warning' | 'Failed', details: string): Scenario {
  return {
    name,
    description: `a resync completes; the blocked job's next run ends ${status}`,
    ...infrastructure,
    repositories: infrastructure.repositories.map((r) => (r.id === X.repoEu ? { ...r, isOutOfSync: true } : r)),
    jobs: infrastructure.jobs.map((j) => (j.id === X.jobEu ? { ...j, lastStatus: 'Failed', nextRunIn: 180 } : j)),
    jobSessions: [
      {
        id: X.runEuBefore,
        jobId: X.jobEu,
        status: 'Failed',
        creationTime: '2026-01-01T01:00:00Z',
        endTime: '2026-01-01T01:02:00Z',
        details: 'Repository is out of sync: cache synchronization is required',
      },
    ],
    steps: [
      {
        at: 0,
        note: 'the EU repository resynchronises; its job last failed',
        actions: [{ op: 'start', session: X.syncEu, repository: X.repoEu, progress: 70 }],
      },
      {
        at: 60,
        note: 'the EU sync completes',
        actions: [
          { op: 'vanish', session: X.syncEu },
          { op: 'inSync', repository: X.repoEu },
        ],
      },
      {
        at: 180,
        note: 'the EU job starts its next run',
        actions: [{ op: 'jobRun', job: X.jobEu, session: X.runEuFirst, status: 'Running' }],
      },
      {
        at: 240,
        note: `the first backup after the resync ends ${status}`,
        actions: [
          { op: 'jobRun', job: X.jobEu, session: X.runEuFirst, status, details },
          { op: 'job', id: X.jobEu, nextRunIn: 86_400 },
        ],
      },
    ],
  };
}

export const firstBackupScenario = firstBackup('first-backup', 'Success', 'Processed 1,204 items');
export const firstBackupFailsScenario = firstBackup(
  'first-backup-fails',
  'Failed',
  'Unable to access object storage: The remote server returned an error: (403) Forbidden.',
);

/** Two tenants (organizations) with repositories of their own; one sync per tenant, one completes, one fails. */
export const tenantsScenario: Scenario = {
  name: 'tenants',
  description: 'two organizations, each with its repositories; a sync per tenant',
  build: BUILD,
  proxies: [infrastructure.proxies[0] as (typeof infrastructure.proxies)[number]],
  organizations: [
    { id: X.orgContoso, name: 'Contoso Ltd' },
    { id: X.orgFabrikam, name: 'Fabrikam Inc' },
  ],
  repositories: [
    {
      id: X.repoContosoMail,
      name: 'Contoso Mail (S3)',
      isOutOfSync: false,
      proxyId: X.proxyA,
      organizationId: X.orgContoso,
    },
    {
      id: X.repoContosoSites,
      name: 'Contoso Sites (S3)',
      isOutOfSync: false,
      proxyId: X.proxyA,
      organizationId: X.orgContoso,
    },
    {
      id: X.repoFabrikam,
      name: 'Fabrikam All (Azure Blob)',
      isOutOfSync: false,
      proxyId: X.proxyA,
      organizationId: X.orgFabrikam,
    },
  ],
  jobs: [
    { id: X.jobContoso, name: 'Contoso mailboxes', repositoryId: X.repoContosoMail, nextRunIn: 600 },
    { id: X.jobFabrikam, name: 'Fabrikam everything', repositoryId: X.repoFabrikam, nextRunIn: 900 },
  ],
  steps: [
    { at: 0, note: 'normal operation', actions: [] },
    {
      at: 60,
      note: 'Fabrikam: its repository resynchronises',
      actions: [{ op: 'start', session: X.syncFabrikam, repository: X.repoFabrikam, progress: 0 }],
    },
    {
      at: 120,
      note: 'Contoso: the mail repository resynchronises',
      actions: [
        { op: 'progress', session: X.syncFabrikam, progress: 55 },
        { op: 'start', session: X.syncContoso, repository: X.repoContosoMail, progress: 0 },
      ],
    },
    {
      at: 180,
      note: 'Fabrikam completes',
      actions: [
        { op: 'vanish', session: X.syncFabrikam },
        { op: 'inSync', repository: X.repoFabrikam },
        { op: 'progress', session: X.syncContoso, progress: 20 },
      ],
    },
    {
      at: 240,
      note: 'Contoso fails',
      actions: [
        {
          op: 'fail',
          session: X.syncContoso,
          error: 'Unable to access object storage: The remote server returned an error: (403) Forbidden.',
        },
      ],
    },
  ],
};

export const scenarios: Readonly<Record<string, Scenario>> = Object.fromEntries(
  [
    demoScenario,
    upgradeScenario,
    databaseFaultScenario,
    proxyOfflineScenario,
    firstBackupScenario,
    firstBackupFailsScenario,
    tenantsScenario,
  ].map((s) => [s.name, s]),
);
