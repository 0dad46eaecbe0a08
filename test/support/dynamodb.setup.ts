import type { TestProject } from 'vitest/node';
import { startBestEngine } from '../../local/stand-ins/embedded-dynamodb.js';

declare module 'vitest' {
  export interface ProvidedContext {
    ddbEndpoint: string;
    ddbEngine: string;
  }
}

/** Starts one DynamoDB engine for the integration tests (DynamoDB Local on Java 17 when present, else dynalite). */
export default async function setup(project: TestProject) {
  const engine = await startBestEngine();
  project.provide('ddbEndpoint', engine.endpoint);
  project.provide('ddbEngine', engine.engine);
  return () => engine.close();
}
