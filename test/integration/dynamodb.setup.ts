import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { type EmbeddedDynamoDb, startDynalite, startDynamoDbLocal } from '../../local/embedded-dynamodb.js';

declare module 'vitest' {
  export interface ProvidedContext {
    ddbEndpoint: string;
    ddbEngine: string;
  }
}

/**
 * Starts one DynamoDB engine for the integration tests: the real DynamoDB Local (Java 17) when `java` is on the
 * PATH, dynalite otherwise. `DDB_ENGINE=dynalite|dynamodb-local` forces one.
 */
export default async function setup(project: TestProject) {
  const wanted = process.env.DDB_ENGINE ?? (hasJava() ? 'dynamodb-local' : 'dynalite');
  const engine: EmbeddedDynamoDb = wanted === 'dynamodb-local' ? await startDynamoDbLocal() : await startDynalite();
  project.provide('ddbEndpoint', engine.endpoint);
  project.provide('ddbEngine', engine.engine);
  return () => engine.close();
}

function hasJava(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
