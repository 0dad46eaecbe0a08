/**
 * The table's key and TTL attribute names; the CDK stack and the local engines create the table with these. A module
 * of its own, so the construct reads them without loading the DynamoDB client.
 */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
} as const;
