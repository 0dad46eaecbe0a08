import type { MonitorConfig } from '../../lambda/config-schema.js';

/*
 * Every kind of channel, each narrowed to what its audience needs: email with event filters, Slack with mentions per
 * severity, Microsoft Teams, a signed webhook, and a Slack channel through Amazon Q Developer (which also shows the
 * monitor's CloudWatch alarms). See the README, "Chat and webhook channels".
 *
 *   npx cdk synth -c config=infra/examples/chat-channels.ts
 *
 * Secrets to create before the deploy (webhook URLs live only in Secrets Manager):
 *
 *   aws secretsmanager create-secret --name vb365/prod --secret-string '{"username":"CONTOSO\\svc-vb365-monitor","password":"…"}'
 *   aws secretsmanager create-secret --name vb365/slack-backup-ops --secret-string 'https://hooks.slack.com/services/…'
 *   aws secretsmanager create-secret --name vb365/slack-management --secret-string 'https://hooks.slack.com/services/…'
 *   aws secretsmanager create-secret --name vb365/teams-backup --secret-string 'https://…logic.azure.com/workflows/…'
 *   aws secretsmanager create-secret --name vb365/siem \
 *     --secret-string "{\"url\":\"https://siem.contoso.example/hooks/vb365\",\"signingSecret\":\"$(openssl rand -hex 32)\"}"
 *
 * A changed URL or password: `aws secretsmanager put-secret-value --secret-id <name> --secret-string …`.
 * Amazon Q Developer needs no secret: authorise the Slack workspace once in its console, then list the channel.
 */
const config: MonitorConfig = {
  servers: [
    {
      id: 'vb365-prod',
      name: 'VB365 production',
      url: 'https://vb365.contoso.example:4443',
      credentials: { secretName: 'vb365/prod' },
    },
  ],
  notifications: {
    emails: [
      // The backup team: what needs action.
      {
        address: 'backup-admins@contoso.example',
        eventTypes: ['sync.failed', 'sync.stalled', 'sync.still_failed', 'server.unreachable', 'server.auth_failed'],
      },
      // Management: the weekly digest only.
      { address: 'it-management@contoso.example', eventTypes: ['digest.weekly'] },
    ],
    slackWebhookSecrets: [
      // Every event; @here on critical ones (the default).
      'vb365/slack-backup-ops',
      {
        secretName: 'vb365/slack-management',
        eventTypes: ['sync.failed', 'server.unreachable'],
        // A user group on critical events, one person on warnings, nobody on information.
        mentions: { critical: '<!subteam^S0123ABCD>', warning: '<@U012AB3CD>', info: '' },
      },
    ],
    teamsWebhookSecrets: ['vb365/teams-backup'],
    // The event JSON, signed (X-Signature-256; README, "Verifying a signed webhook").
    webhookSecrets: [{ secretName: 'vb365/siem', eventTypes: ['sync.failed', 'sync.completed', 'server.unreachable'] }],
    qDeveloperSlackChannels: [
      { workspaceId: 'T0123ABCDE', channelId: 'C0123ABCDEF', eventTypes: ['sync.failed', 'server.unreachable'] },
    ],
  },
};

export default config;
