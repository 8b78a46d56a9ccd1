/**
 * CRC-32 of IEEE 802.3 (Ethernet FCS, also zlib / PNG): polynomial 0x04C11DB7, processed
 * bit-reflected (0xEDB88320), initial value and final XOR 0xFFFFFFFF. Check value:
 * CRC-32("123456789") = 0xCBF43926 (the "CRC-32/ISO-HDLC" entry of R. Williams' catalogue).
 * Table-driven, eight bytes per step ("slicing-by-8": Kounavis and Berry, ISCC 2005), the bytes
 * left over one per step (Sarwate, CACM 31(8), 1988): the same value as the byte-wise loop a lock
 * MCU without a CRC peripheral runs over a flash record, in far fewer steps — every flash commit
 * (an audit append, a keypad counter) runs it over its whole record.
 */

/**
 * Eight tables of 256: table 0 is Sarwate's (the CRC of one byte); table `k` advances table
 * `k − 1`'s entry by one zero byte, so a step folds in eight bytes at once.
 */
const TABLES = (() => {
  const tables = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    tables[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) {
      const previous = tables[(k - 1) * 256 + n]!;
      tables[k * 256 + n] = (previous >>> 8) ^ tables[previous & 0xff]!;
    }
  }
  return tables;
})();

/**
 * The CRC-32 of `data[start, end)`. Pass a previous result as `previous` to continue over
 * concatenated data: `crc32(b, crc32(a)) === crc32(a ‖ b)` (the zlib `crc32(data, value)` convention).
 */
export function crc32(data: Uint8Array, previous = 0, start = 0, end = data.length): number {
  const tables = TABLES;
  let crc = ~previous;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    crc ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    const high = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
    crc =
      tables[1792 + (crc & 0xff)]! ^
      tables[1536 + ((crc >>> 8) & 0xff)]! ^
      tables[1280 + ((crc >>> 16) & 0xff)]! ^
      tables[1024 + (crc >>> 24)]! ^
      tables[768 + (high & 0xff)]! ^
      tables[512 + ((high >>> 8) & 0xff)]! ^
      tables[256 + ((high >>> 16) & 0xff)]! ^
      tables[high >>> 24]!;
  }
  for (; i < end; i++) crc = tables[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
