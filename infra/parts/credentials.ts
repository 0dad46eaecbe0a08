import { ArnFormat, aws_iam as iam, type aws_lambda as lambda, Stack, Validations } from 'aws-cdk-lib';
import { credentialsRefOf, type ResolvedServer } from '../../lambda/config-schema.js';
import { nagArn } from './nag.js';

/**
 * Credential resources one poll function's policy lists one by one; beyond, those under one path are granted as
 * `path/*` (a role's inline policies hold 10,240 characters together).
 */
export const MAX_CREDENTIAL_RESOURCES = 20;

/**
 * Only the action the function sends, on its servers' credentials: `secretsmanager:GetSecretValue` on each distinct
 * secret, `ssm:GetParameter` on each parameter (a test records the calls). Beyond
 * {@link MAX_CREDENTIAL_RESOURCES}, the resources under one path are granted as `path/*`.
 */
export function grantCredentials(fn: lambda.Function, placement: string, servers: readonly ResolvedServer[]): void {
  const stack = Stack.of(fn);
  const wanted = servers.map((s): CredentialResource => {
    const ref = credentialsRefOf(s, stack.stackName);
    if (ref.kind === 'parameter') return { service: 'ssm', scope: '', path: ref.name.replace(/^\//, ''), all: false };
    const arn = /^(arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:)(.+)$/.exec(ref.secretId);
    return arn
      ? { service: 'secretsmanager', scope: arn[1] as string, path: arn[2] as string, all: false }
      : { service: 'secretsmanager', scope: '', path: ref.secretId, all: false };
  });
  const granted = collapse(wanted, MAX_CREDENTIAL_RESOURCES);
  if (granted === undefined) {
    throw new Error(
      `poll function ${placement}: its ${servers.length} servers read ${new Set(wanted.map(keyOf)).size} secrets and parameters, more than one IAM policy can list (${MAX_CREDENTIAL_RESOURCES}) and not under shared paths. Fix: keep the credentials in one shared secret ({ sharedSecretName }), or name the secrets or parameters under one path (e.g. /vb365/<server id>), which is granted as that path.`,
    );
  }
  const arnOf = (r: CredentialResource): string => {
    const name = r.all ? `${r.path}/*` : r.path;
    if (r.scope !== '') return `${r.scope}${name}`;
    return r.service === 'ssm'
      ? stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name })
      : stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          // A secret known by name is matched with Secrets Manager's six-character ARN suffix.
          resourceName: r.all ? name : `${name}-??????`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
  };
  for (const [service, action] of [
    ['secretsmanager', 'secretsmanager:GetSecretValue'],
    ['ssm', 'ssm:GetParameter'],
  ] as const) {
    const resources = granted.filter((r) => r.service === service);
    if (resources.length === 0) continue;
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: [action], resources: resources.map(arnOf) }));
    for (const r of resources.filter((x) => x.all)) {
      Validations.of(fn).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArn(arnOf(r), stack)}]`,
        reason: `Reads the credentials of ${servers.length} servers, all under ${r.path}/ (one grant per path keeps the policy within IAM's size limit).`,
      });
    }
  }
}

/**
 * A secret or parameter a function reads: by `path` (a secret's name, a parameter's name without the leading "/"), or
 * everything under it (`all`). `scope`: the ARN prefix of a secret given by ARN; '' for this account and region.
 */
interface CredentialResource {
  readonly service: 'secretsmanager' | 'ssm';
  readonly scope: string;
  readonly path: string;
  readonly all: boolean;
}

function keyOf(r: CredentialResource): string {
  return `${r.service}|${r.scope}|${r.path}${r.all ? '/*' : ''}`;
}

/**
 * `resources` without duplicates, at most `max` of them: while there are more, the resources under the deepest path
 * holding two or more are replaced by that path's `/*` (the least widening each time). `undefined` when that cannot
 * bring them down to `max`.
 */
export function collapse(resources: readonly CredentialResource[], max: number): CredentialResource[] | undefined {
  let current = [...new Map(resources.map((r) => [keyOf(r), r])).values()];
  /** The paths strictly above `r` (`a/b/c` or `a/b/c/*`: `a/b` and `a`). */
  const parents = (r: CredentialResource) => {
    const segments = r.path.split('/');
    const out: string[] = [];
    for (let n = segments.length - (r.all ? 0 : 1); n > 0; n--) {
      const p = segments.slice(0, n).join('/');
      if (p !== '' && p !== r.path) out.push(p);
    }
    return out;
  };
  while (current.length > max) {
    const under = new Map<string, { service: CredentialResource['service']; scope: string; path: string; n: number }>();
    for (const r of current) {
      for (const p of parents(r)) {
        const key = `${r.service}|${r.scope}|${p}`;
        const entry = under.get(key) ?? { service: r.service, scope: r.scope, path: p, n: 0 };
        entry.n++;
        under.set(key, entry);
      }
    }
    const best = [...under.values()]
      .filter((u) => u.n >= 2)
      .sort((a, b) => b.path.split('/').length - a.path.split('/').length || b.n - a.n)[0];
    if (best === undefined) return undefined;
    const merged: CredentialResource = { service: best.service, scope: best.scope, path: best.path, all: true };
    current = [
      ...current.filter(
        (r) => !(r.service === best.service && r.scope === best.scope && r.path.startsWith(`${best.path}/`)),
      ),
      merged,
    ];
    current = [...new Map(current.map((r) => [keyOf(r), r])).values()];
  }
  return current;
}
