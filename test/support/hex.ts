// Hex helpers for tests: frames, keys and vectors are written as hex (STYLE.md).

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes from hex; whitespace is allowed for reading, anything else that is not hex throws. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(clean)) throw new TypeError(`fromHex: not hex: ${text}`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}
