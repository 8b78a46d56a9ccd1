// The prologue's exact bytes (protocol/spec/session.md §2) and the version rules around it.
import { describe, expect, it } from 'vitest';
import {
  assertVersionList,
  chooseVersion,
  encodePrologue,
  isVersionList,
  PROLOGUE_LABEL,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
} from '../../../protocol/noise/prologue.js';
import { hex, LOCK_ID } from './fixtures.js';

describe('prologue', () => {
  it('speaks version 1', () => {
    expect(PROTOCOL_VERSION).toBe(1);
    expect(SUPPORTED_VERSIONS).toEqual([1]);
    expect(hex(PROLOGUE_LABEL)).toBe('6b65797761792f31');
  });

  it('is "keyway/1" ‖ n ‖ versions ‖ lock id, byte for byte', () => {
    expect(hex(encodePrologue([1], LOCK_ID))).toBe(
      '6b65797761792f31' + '01' + '01' + '00112233445566778899aabbccddeeff',
    );
    expect(hex(encodePrologue([1, 2, 255], LOCK_ID))).toBe(
      '6b65797761792f31' + '03' + '0102ff' + '00112233445566778899aabbccddeeff',
    );
    expect(encodePrologue([1, 2, 3, 4, 5, 6, 7, 8], LOCK_ID)).toHaveLength(8 + 1 + 8 + 16);
  });

  it.each([[[]], [[0]], [[256]], [[2, 1]], [[1, 1]], [[1.5]], [[1, 2, 3, 4, 5, 6, 7, 8, 9]]])(
    'refuses the version list %j',
    (versions) => {
      expect(isVersionList(versions)).toBe(false);
      expect(() => assertVersionList(versions, 'versions')).toThrow(RangeError);
      expect(() => encodePrologue(versions, LOCK_ID)).toThrow(RangeError);
    },
  );

  it('refuses a lock id of any length but 16', () => {
    for (const length of [0, 15, 17, 32]) {
      expect(() => encodePrologue([1], new Uint8Array(length))).toThrow(RangeError);
    }
  });

  it('proposes the highest version both sides speak, or none', () => {
    expect(chooseVersion([1, 2, 3], [1, 2])).toBe(2);
    expect(chooseVersion([1], [1, 2])).toBe(1);
    expect(chooseVersion([2, 3], [1])).toBeUndefined();
  });
});
