import type { MonitorConfig, ServerEntry } from '../../lambda/config-schema.js';

/*
 * An MSP watching 50 customer VB365 servers from one deployment: customers with a private CA (their CA file under
 * infra/examples/certs/), customers whose self-signed certificate is pinned, two VPC placements for servers reached
 * over site-to-site VPNs, one shared secret for every server's account, fleet metrics (a fixed handful, not one set
 * per server).
 *
 *   npx cdk synth -c config=infra/examples/msp-fleet.ts
 *
 * The shared secret holds every server's account, keyed by server id:
 *
 *   cat > fleet-credentials.json <<'JSON'
 *   { "contoso-01": { "username": "CONTOSO\\svc-vb365-monitor", "password": "…" },
 *     "fabrikam-01": { "username": "svc-vb365@fabrikam.example", "password": "…" } }
 *   JSON
 *   aws secretsmanager create-secret --name vb365-sync-monitor/msp-fleet --secret-string file://fleet-credentials.json
 *   # later, after adding a customer or changing a password:
 *   aws secretsmanager put-secret-value --secret-id vb365-sync-monitor/msp-fleet --secret-string file://fleet-credentials.json
 *   rm fleet-credentials.json
 */

/** Site-to-site VPNs land in these subnets (placeholders: use your own ids). */
const VPN_EU = {
  vpcId: 'vpc-0a1b2c3d4e5f60718',
  subnetIds: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'],
  availabilityZones: ['eu-west-1a', 'eu-west-1b'],
};
const VPN_US = {
  vpcId: 'vpc-0f1e2d3c4b5a69788',
  subnetIds: ['subnet-0f1e2d3c4b5a60001'],
  availabilityZones: ['eu-west-1c'],
};

/** Each customer: how many VB365 servers, and how the monitor trusts and reaches them. */
const CUSTOMERS: readonly {
  readonly id: string;
  readonly name: string;
  readonly servers: number;
  readonly tls?: Pick<ServerEntry, 'caBundleFile' | 'pinSha256'>;
  readonly vpc?: ServerEntry['vpc'];
}[] = [
  // Their own CA signs the REST API certificates; servers reached over the VPN.
  {
    id: 'contoso',
    name: 'Contoso',
    servers: 6,
    tls: { caBundleFile: 'infra/examples/certs/contoso-ca.pem' },
    vpc: VPN_EU,
  },
  {
    id: 'northwind',
    name: 'Northwind',
    servers: 4,
    tls: { caBundleFile: 'infra/examples/certs/northwind-ca.pem' },
    vpc: VPN_US,
  },
  // Their own CA, public endpoint (restricted to AWS's addresses).
  { id: 'fabrikam', name: 'Fabrikam', servers: 5, tls: { caBundleFile: 'infra/examples/certs/fabrikam-ca.pem' } },
  // VB365's self-signed certificate, pinned (the fingerprint the first cycle's `server.tls_failed` names).
  {
    id: 'adatum',
    name: 'Adatum',
    servers: 1,
    tls: {
      pinSha256: '8C:E7:7F:71:F5:05:E2:5C:10:45:93:E2:1C:B0:99:EF:69:9F:3D:BB:07:35:E8:CD:CE:3D:9F:EF:ED:E2:0F:83',
    },
    vpc: VPN_EU,
  },
  {
    id: 'litware',
    name: 'Litware',
    servers: 1,
    tls: { pinSha256: 'd8212654d9877750252d0374d8a2104b84b76fdf3092b9b4dc4452054eebc951' },
  },
  {
    id: 'proseware',
    name: 'Proseware',
    servers: 1,
    tls: { pinSha256: '6DA8A9B6A35F4103E8BB470B4753FCCD4ADD8D1F29049B63EB5E4CBFBB638DA2' },
  },
  // Certificates from a public CA, public endpoints: nothing to add.
  ...[
    'alpine-ski',
    'bellows',
    'coho-winery',
    'consolidated',
    'fourth-coffee',
    'graphic-design',
    'humongous',
    'lucerne',
    'margies-travel',
    'munson',
    'relecloud',
    'southridge',
    'tailspin',
    'trey-research',
    'wide-world',
    'woodgrove',
  ].map((id) => ({ id, name: titleCase(id), servers: 2 })),
];

function titleCase(id: string): string {
  return id
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
}

const servers: ServerEntry[] = CUSTOMERS.flatMap((customer) =>
  Array.from({ length: customer.servers }, (_, i) => {
    const n = String(i + 1).padStart(2, '0');
    return {
      id: `${customer.id}-${n}`,
      name: `${customer.name} VB365 ${n}`,
      url: `https://vb365-${n}.${customer.id}.example:4443`,
      ...customer.tls,
      ...(customer.vpc ? { vpc: customer.vpc } : {}),
    };
  }),
);

const config: MonitorConfig = {
  stackName: 'Vb365FleetMonitor',
  servers,
  // Every server without credentials of its own reads its account from this secret, under its id.
  credentials: { sharedSecretName: 'vb365-sync-monitor/msp-fleet' },
  pollEveryMinutes: 5,
  metrics: 'fleet',
  policy: { stallAfterMinutes: 90, groupThreshold: 20 },
  digest: { weekday: 'Monday', time: '07:30', timeZone: 'Europe/London' },
  notifications: {
    emails: [
      {
        address: 'noc@msp.example',
        eventTypes: [
          'sync.failed',
          'sync.stalled',
          'sync.still_failed',
          'server.unreachable',
          'server.recovered',
          'server.auth_failed',
          'server.tls_failed',
          'server.certificate_expiring',
          'server.setup_required',
          'repository.out_of_sync',
          'repository.blocked',
          'repository.first_backup_failed',
          'proxy.offline',
          'server.unhealthy',
          'monitor.grouped',
        ],
      },
      { address: 'service-reports@msp.example', eventTypes: ['digest.weekly'] },
    ],
    // The PSA / ticketing system takes the signed event JSON.
    webhookSecrets: [{ secretName: 'vb365/psa-webhook', eventTypes: ['sync.failed', 'server.unreachable'] }],
  },
};

export default config;
