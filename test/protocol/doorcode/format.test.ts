import { describe, expect, it } from 'vitest';
import { formatCode } from '../../../protocol/doorcode/deriver.js';

describe('formatCode', () => {
  it('left-pads with zeros to the code length', () => {
    expect(formatCode(42, 7)).toBe('0000042');
    expect(formatCode(1234567, 7)).toBe('1234567');
  });
});
