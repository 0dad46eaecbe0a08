import type { MonitorConfig } from './config-schema.js';

/*
 * The deployment's configuration. Edit it, then `npx cdk deploy`. Every field is checked at synth time; a mistake
 * stops the synth with the field, the value and the fix. Reference: README, "Configuration reference".
 */
const config: MonitorConfig = {
  servers: [
    {
      id: 'vb365-prod',
      name: 'VB365 production',
      url: 'https://vb365.example.local:4443',
      // The stack creates an empty secret; fill in {"username","password"} after the first deploy.
      credentials: { create: true },
      // For a self-signed certificate: caBundleFile: 'certs/vb365-prod.pem', and/or pinSha256: 'AB:CD:…'
      // For a server in a private network: vpc: { vpcId, subnetIds, availabilityZones }
    },
  ],
  pollEveryMinutes: 5,
  policy: { milestones: [], stallAfterMinutes: 60, vanishGraceCycles: 2, unreachableAfterMinutes: 15 },
  notifications: {
    emails: [
      {
        address: 'backup-admins@example.com',
        eventTypes: [
          'sync.failed',
          'sync.stalled',
          'sync.stopped',
          'sync.completed',
          'server.unreachable',
          'server.recovered',
          'server.auth_failed',
        ],
      },
    ],
  },
  logRetentionDays: 90,
};

export default config;
