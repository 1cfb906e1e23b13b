// Runs the reference ThumbHash (the `thumbhash` npm package) on raster files
// written by js_thumbhash_reference: each file is width and height as
// little-endian uint32, then width*height RGBA bytes. Prints one line per
// file: the hash, the decoded width and height, and the decoded RGBA, the
// hash and pixels in base64.
import { readFileSync } from 'node:fs';
import { rgbaToThumbHash, thumbHashToRGBA } from 'thumbhash';

for (const path of process.argv.slice(2)) {
  const buf = readFileSync(path);
  const w = buf.readUInt32LE(0);
  const h = buf.readUInt32LE(4);
  const rgba = new Uint8Array(buf.buffer, buf.byteOffset + 8, w * h * 4);
  const hash = rgbaToThumbHash(w, h, rgba);
  const img = thumbHashToRGBA(hash);
  console.log([Buffer.from(hash).toString('base64'), img.w, img.h, Buffer.from(img.rgba).toString('base64')].join(' '));
}
