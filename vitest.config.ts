import { defineConfig } from 'vitest/config';

// The AWS SDK warns on Node 20 at every client construction; globalSetup runs outside the workers, so set it here too.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  test: {
    pool: 'forks',
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
    testTimeout: 20_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/infra/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          globalSetup: ['test/support/dynamodb.setup.ts'],
          // These tests start servers and spawn processes (the CLI, cdk synth, the benchmark); on a 2-core CI machine
          // they share the cores, so they get time. Nothing here asserts a duration.
          testTimeout: 120_000,
          include: ['test/adapters/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
        },
      },
    ],
  },
});
