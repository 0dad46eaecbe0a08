import type { Scenario } from './simulator.js';

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
} as const;

const I = DEMO_IDS;

/**
 * The demo: four object-storage repositories lose their cache and resynchronise. One completes after going to
 * `None`, one stalls and then fails, one completes by vanishing from the list, one is stopped (vanishes while its
 * repository is still out of sync). One step per poll cycle.
 */
export const demoScenario: Scenario = {
  name: 'demo',
  description: 'four repository syncs: completed, stalled then failed, completed by vanishing, stopped',
  repositories: [
    { id: I.s3Repo, name: 'S3 Immutable (eu-west-1)', isOutOfSync: false },
    { id: I.wasabiRepo, name: 'Wasabi Archive', isOutOfSync: false },
    { id: I.azureRepo, name: 'Azure Blob (West Europe)', isOutOfSync: false },
    { id: I.minioRepo, name: 'MinIO On-Prem', isOutOfSync: false },
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
    { note: 'quiet', actions: [] },
  ],
};

export const scenarios: Readonly<Record<string, Scenario>> = { demo: demoScenario };
