import type { MonitorConfig } from '../lambda/config-schema.js';

/*
 * The deployment's configuration. Edit it, then `npx cdk deploy`. Every field is checked at synth time; a mistake
 * stops the synth with the field, the value and the fix. Reference: README, "Configuration reference". A JSON file works
 * too (`npx cdk synth -c config=FILE.json`, editors check it with "$schema": "./config.schema.json"); more examples
 * in infra/examples/.
 */
const config: MonitorConfig = {
  servers: [
    {
      id: 'vb365-prod',
      name: 'VB365 production',
      url: 'https://vb365.example.local:4443',
      // An SSM Parameter Store SecureString holding {"username","password"} (free): store it before or after the
      // first deploy (README, "Credentials"). Or a Secrets Manager secret: { secretName }, one for many servers
      // { sharedSecretName }, or one the stack creates for you to fill in { create: true } ($0.40 a month each).
      credentials: { parameterName: '/vb365-sync-monitor/vb365-prod' },
      // For a self-signed certificate: caBundleFile: 'certs/vb365-prod.pem', and/or pinSha256: 'AB:CD:…'
      // For a server in a private network: vpc: { vpcId, subnetIds, availabilityZones }
    },
  ],
  pollEveryMinutes: 5,
  policy: { milestones: [], stallAfterMinutes: 60, vanishGraceCycles: 2, unreachableAfterMinutes: 15 },
  // Hold non-critical events at night, summarised in the morning; hold everything during planned maintenance:
  // quietHours: { timeZone: 'Europe/Berlin', start: '22:00', end: '07:00' },
  // maintenanceWindows: [{ start: '2026-12-05T20:00:00+01:00', end: '2026-12-05T23:00:00+01:00', note: 'VB365 upgrade' }],
  notifications: {
    emails: [
      {
        address: 'backup-admins@example.com',
        // Leave eventTypes out to receive every event (sync.started and sync.progress too). monitor.started comes once,
        // after the first cycle: the sign that monitoring works (test-notification --topic-arn sends one any time).
        eventTypes: [
          'monitor.started',
          'sync.failed',
          'sync.stalled',
          'sync.stopped',
          'sync.completed',
          'sync.still_failed',
          'server.unreachable',
          'server.recovered',
          'server.auth_failed',
          'server.tls_failed',
          'server.api_unsupported',
          'server.certificate_expiring',
          'server.setup_required',
          'repository.out_of_sync',
          'repository.in_sync',
          'repository.blocked',
          'repository.unblocked',
          'repository.first_backup_failed',
          'proxy.offline',
          'proxy.maintenance',
          'proxy.online',
          'server.unhealthy',
          'server.healthy',
          'monitor.held_summary',
          'monitor.server_not_polled',
          'monitor.server_polled_again',
          'digest.weekly',
        ],
      },
    ],
    // Chat and webhook channels (URLs live in Secrets Manager; see the README, "Chat and webhook channels"):
    // slackWebhookSecrets: [
    //   'vb365/slack-backup-ops',
    //   { secretName: 'vb365/slack-management', eventTypes: ['sync.failed'], mentions: { critical: '<!channel>' } },
    // ],
    // teamsWebhookSecrets: ['vb365/teams-backup'],
    // webhookSecrets: [{ secretName: 'vb365/siem', eventTypes: ['sync.failed', 'sync.completed'] }],
    // qDeveloperSlackChannels: [{ workspaceId: 'T0123ABCDE', channelId: 'C0123ABCDEF' }],
    // qDeveloperTeamsChannels: [{ tenantId: '…', teamId: '…', channelId: '19%3a…%40thread.tacv2' }],
  },
  logRetentionDays: 90,
};

export default config;
