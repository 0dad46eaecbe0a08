import { type aws_lambda as lambda, type Stack, Validations } from 'aws-cdk-lib';

/** cdk-nag: the AWS managed basic execution policy every Lambda role gets. */
export function acknowledgeBasicExecutionRole(fn: lambda.IFunction): void {
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: 'The AWS managed basic execution policy only allows writing CloudWatch Logs.',
  });
}

/** An ARN as cdk-nag quotes it in a finding id: tokens of the stack as `<AWS::Region>` and the like. */
export function nagArn(arn: string, stack: Stack): string {
  const resolved = stack.resolve(arn) as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof resolved === 'string') return resolved;
  return resolved['Fn::Join'][1]
    .map((part) => (typeof part === 'string' ? part : `<${(part as { Ref: string }).Ref}>`))
    .join(resolved['Fn::Join'][0]);
}
