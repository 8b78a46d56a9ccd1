// The specification's tables stay true to the code: every wire error code, and every test file
// the specification cites as evidence.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';

const protocolDir = new URL('../../protocol/', import.meta.url);
const repoRoot = new URL('../../', import.meta.url);
const spec = readFileSync(new URL('SPEC.md', protocolDir), 'utf8');
const parts = readdirSync(new URL('spec/', protocolDir)).map((name) => ({
  name,
  text: readFileSync(new URL(`spec/${name}`, protocolDir), 'utf8'),
}));

describe('protocol/SPEC.md', () => {
  it('lists every wire error code with its number, and no other', () => {
    const rows = [...spec.matchAll(/^\| (0x[0-9a-f]{2}) +\| `([A-Z_]+)` +\|/gm)].map(
      ([, code, name]) => [name, Number(code)] as const,
    );
    expect(Object.fromEntries(rows)).toEqual(WIRE_ERRORS);
  });

  it.each(['frames.md', 'session.md', 'messages.md'])('links its part %s, which exists', (name) => {
    expect(spec).toContain(`(spec/${name})`);
    expect(parts.map((p) => p.name)).toContain(name);
  });

  it('cites only test files that exist', () => {
    const cited = new Set<string>();
    for (const text of [spec, ...parts.map((p) => p.text)]) {
      for (const [, path] of text.matchAll(/`(test\/[\w./-]+\.ts)`/g)) cited.add(path!);
    }
    expect(cited.size).toBeGreaterThan(10);
    for (const path of cited) expect(existsSync(new URL(path, repoRoot)), path).toBe(true);
  });
});
