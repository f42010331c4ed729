// Blake2b-256 (a 32-byte digest: not a cut Blake2b-512, which Node's OpenSSL is limited to), from
// hash-wasm's WebAssembly build: ~15x the pure-JS @noble/hashes on preimage blobs (W1: ~90 ms of
// a 1.8 s run became ~6 ms). Only the blake2b bundle is loaded (~2 ms), and its WebAssembly is
// compiled once per thread at import (~6 ms): hash-wasm's API is asynchronous only there.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createBLAKE2b } = require('hash-wasm/dist/blake2b.umd.min.js') as typeof import('hash-wasm');
const hasher = await createBLAKE2b(256);

/** 0x-prefixed hex Blake2b-256 of the bytes. */
export function blake2b256Hex(bytes: Uint8Array): string {
  hasher.init();
  hasher.update(bytes);
  return '0x' + hasher.digest('hex');
}

/** Blake2b-256 of the bytes, as 32 bytes. */
export function blake2b256(bytes: Uint8Array): Uint8Array {
  hasher.init();
  hasher.update(bytes);
  return hasher.digest('binary');
}

// Hex text is decoded this many digits at a time into one reused buffer: a huge blob never
// exists as one string (and the pieces are small enough to die young).
const HEX_PIECE = 64 << 10;
const scratch = Buffer.allocUnsafeSlow(HEX_PIECE / 2);

/**
 * Blake2b-256 of the bytes that `0x`-prefixed hex text (as raw ASCII bytes) stands for; undefined
 * unless the text is `0x` and an even number of hex digits.
 */
export function blake2b256HexOfHex(text: Uint8Array): string | undefined {
  if (text.length < 2 || text[0] !== 0x30 || text[1] !== 0x78 || text.length % 2 !== 0) return undefined;
  const b = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  hasher.init();
  for (let at = 2; at < b.length; at += HEX_PIECE) {
    const end = Math.min(b.length, at + HEX_PIECE);
    // Node's hex decoder stops at the first pair that is not hex: a short result means bad input.
    const n = scratch.write(b.toString('latin1', at, end), 'hex');
    if (n * 2 !== end - at) return undefined;
    hasher.update(scratch.subarray(0, n));
  }
  return '0x' + hasher.digest('hex');
}
