#!/usr/bin/env node
// The vb365-sync-monitor command. In a checkout (the TypeScript sources beside this file) it runs the sources through
// tsx, so it never runs a stale build; installed from the package (no sources) it runs the prebuilt dist/cli.js.
import { existsSync } from 'node:fs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const source = new URL('./cli.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(source.href);
  process.exitCode = await main(process.argv.slice(2));
} else {
  await import('../../dist/cli.js');
}
