/**
 * CRC-32 of IEEE 802.3 (Ethernet FCS, also zlib / PNG): polynomial 0x04C11DB7, processed
 * bit-reflected (0xEDB88320), initial value and final XOR 0xFFFFFFFF. Check value:
 * CRC-32("123456789") = 0xCBF43926 (the "CRC-32/ISO-HDLC" entry of R. Williams' catalogue).
 * Table-driven, one byte per step (Sarwate, CACM 31(8), 1988): what a lock MCU without a CRC
 * peripheral runs over a flash record.
 */

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/**
 * The CRC-32 of `data[start, end)`. Pass a previous result as `previous` to continue over
 * concatenated data: `crc32(b, crc32(a)) === crc32(a ‖ b)` (the zlib `crc32(data, value)` convention).
 */
export function crc32(data: Uint8Array, previous = 0, start = 0, end = data.length): number {
  let crc = ~previous;
  for (let i = start; i < end; i++) crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
