/**
 * A compact stand-in for an AWS SDK error, to keep as a `cause`: name, message, HTTP status and request id. The SDK's
 * own error carries the raw HTTP exchange (headers, signed request), which a logger would serialise in full.
 */
export function awsCause(err: unknown): Error {
  const e = err as Error & { $metadata?: { httpStatusCode?: number; requestId?: string } };
  const cause = new Error(e?.message ?? String(err));
  cause.name = e?.name ?? 'Error';
  Object.assign(cause, {
    httpStatusCode: e?.$metadata?.httpStatusCode,
    requestId: e?.$metadata?.requestId,
  });
  cause.stack = `${cause.name}: ${cause.message}`;
  return cause;
}
