import { App } from 'aws-cdk-lib';

// The CDK app. The monitor's stack (table, topic, poll Lambda, one schedule per server) is added here by the
// infrastructure work; until then the app synthesizes an empty cloud assembly.
new App();
