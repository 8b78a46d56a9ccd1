// protocol/spec/messages.md states every schema as a table; this test renders each table from
// the schema itself and checks the specification holds it verbatim, so the two cannot drift.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeType } from '../../../protocol/cbor/schema.js';
import type { MapSchema } from '../../../protocol/cbor/schema.js';
import {
  auditRecordSchema,
  auditUploadSchema,
  sealedAuditUploadSchema,
} from '../../../protocol/formats/audit-upload.js';
import { weeklyWindowSchema } from '../../../protocol/formats/common.js';
import {
  credentialSchema,
  MAX_CREDENTIAL_BODY_BYTES,
  scheduleSchema,
} from '../../../protocol/formats/credential.js';
import { doorcodeRecordSchema } from '../../../protocol/formats/doorcode-record.js';
import { revocationListSchema, revokedDaySchema } from '../../../protocol/formats/revocation.js';
import { signedCodec } from '../../../protocol/formats/signed.js';
import {
  doorConfigSchema,
  sealedSyncBundleSchema,
  syncBundleSchema,
} from '../../../protocol/formats/sync-bundle.js';
import { timeAnchorSchema } from '../../../protocol/formats/time-anchor.js';
import { MESSAGES } from '../../../protocol/messages.js';

/** Table rows without the column padding Prettier adds, so the comparison ignores layout. */
function normalize(markdown: string): string {
  return markdown
    .split('\n')
    .map((line) =>
      line.startsWith('|') ? line.replace(/ *\| */g, '|').replace(/-{3,}/g, '---') : line,
    )
    .join('\n');
}

const spec = normalize(
  readFileSync(new URL('../../../protocol/spec/messages.md', import.meta.url), 'utf8'),
);

/** The markdown table of a map schema: key, field, type, presence. */
function schemaTable(schema: MapSchema): string {
  if (schema.entries.length === 0) return `\`${schema.name}\`: the empty map \`a0\`.`;
  const rows = schema.entries.map(
    ([name, field]) =>
      `| ${field.key} | \`${name}\` | ${describeType(field.type)} | ${field.optional ? 'optional' : 'required'} |`,
  );
  return [
    `\`${schema.name}\`:`,
    '',
    '| key | field | type | presence |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
}

const DOCUMENTED: readonly MapSchema[] = [
  weeklyWindowSchema,
  signedCodec('signedCredential', MAX_CREDENTIAL_BODY_BYTES).schema,
  credentialSchema,
  scheduleSchema,
  timeAnchorSchema,
  doorcodeRecordSchema,
  revocationListSchema,
  revokedDaySchema,
  syncBundleSchema,
  doorConfigSchema,
  sealedSyncBundleSchema,
  auditUploadSchema,
  auditRecordSchema,
  sealedAuditUploadSchema,
  ...Object.values(MESSAGES).map((m) => m.body as MapSchema),
];

describe('protocol/spec/messages.md', () => {
  it.each(DOCUMENTED.map((schema) => [schema.name, schema] as const))(
    'states the %s table',
    (_, schema) => {
      expect(spec).toContain(normalize(schemaTable(schema)));
    },
  );

  it('states every message type with its number and size limit', () => {
    for (const [type, { code, body, maxBytes }] of Object.entries(MESSAGES)) {
      expect(spec).toContain(
        normalize(`| ${code} | \`${type}\` | \`${body.name}\` | ${maxBytes} |`),
      );
    }
  });
});
