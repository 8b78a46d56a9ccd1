// The golden vectors (protocol/SPEC.md §5) reproduce byte for byte, with both crypto providers.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createNobleCrypto } from '../../protocol/crypto/noble-provider.js';
import { decodeFragment } from '../../protocol/frame-codec.js';
import { decodeMessage } from '../../protocol/messages.js';
import { createNodeCrypto } from '../../src/core/node-crypto-provider.js';
import { generateGoldenVectors } from '../vectors/protocol/generate.js';

const folder = new URL('../vectors/protocol/', import.meta.url);
const read = (name: string): unknown => JSON.parse(readFileSync(new URL(name, folder), 'utf8'));
const generated = generateGoldenVectors(createNobleCrypto);

if (process.env['KEYWAY_WRITE_VECTORS'] === '1') {
  for (const [name, content] of Object.entries(generated)) {
    writeFileSync(new URL(name, folder), `${JSON.stringify(content, null, 1)}\n`);
  }
}

describe('golden protocol vectors', () => {
  it('the folder holds exactly the generated files', () => {
    const files = readdirSync(folder).filter((name) => name.endsWith('.json'));
    expect(files.sort()).toEqual(Object.keys(generated).sort());
  });

  it.each(Object.keys(generated))('%s reproduces byte for byte with @noble', (name) => {
    expect(generated[name]).toEqual(read(name));
  });

  it.each(Object.keys(generated))('%s reproduces byte for byte with node:crypto', (name) => {
    expect(generateGoldenVectors(createNodeCrypto)[name]).toEqual(read(name));
  });

  it.each(['exchange-mtu23.json', 'exchange-mtu247.json'])(
    '%s: every fragment fits its MTU and every transport plaintext decodes',
    (name) => {
      const vector = read(name) as {
        mtu: number;
        messages: { name: string; plaintext: string; fragments: string[] }[];
      };
      expect(vector.messages.length).toBeGreaterThan(8);
      for (const message of vector.messages) {
        for (const value of message.fragments) {
          const bytes = Buffer.from(value, 'hex');
          expect(bytes.length).toBeLessThanOrEqual(vector.mtu - 3);
          expect(decodeFragment(bytes).ok).toBe(true);
        }
        if (!message.name.startsWith('handshake')) {
          expect(decodeMessage(Buffer.from(message.plaintext, 'hex'))).toMatchObject({ ok: true });
        }
      }
    },
  );
});
