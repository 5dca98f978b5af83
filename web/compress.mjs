// compress.mjs: writes beside each file of a built page its brotli (name.br) and gzip
// (name.gz) encodings, so that web/web.go sends a browser the smallest one it accepts without
// compressing anything while serving. `make assets` runs it on each page's dist folder after
// the page's own build.
//
// usage: node web/compress.mjs <dist folder>
//
// The output depends on the input alone (scripts/check-assets rebuilds and compares): brotli
// and gzip at fixed settings, and Node's gzip header carries no file name and a zero time.
// An encoding is written only when it is smaller than the file; formats that are compressed
// already (fonts in WOFF2, images) are left alone.
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const [dist] = process.argv.slice(2);
if (!dist) throw new Error('usage: node web/compress.mjs <dist folder>');

// Extensions of formats that are compressed already: another coding would only add bytes.
const compressed = new Set(['.br', '.gz', '.woff2', '.woff', '.png', '.jpg', '.jpeg', '.gif', '.webp', '.avif', '.zip']);

const files = (await readdir(dist, { recursive: true, withFileTypes: true }))
  .filter((entry) => entry.isFile() && !compressed.has(path.extname(entry.name)))
  .map((entry) => path.join(entry.parentPath, entry.name))
  .sort();

let raw = 0;
let br = 0;
let gz = 0;
for (const file of files) {
  const content = await readFile(file);
  raw += content.length;
  const encodings = [
    ['.br', brotliCompressSync(content, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: content.length,
      },
    })],
    ['.gz', gzipSync(content, { level: constants.Z_BEST_COMPRESSION })],
  ];
  for (const [suffix, encoded] of encodings) {
    const kept = encoded.length < content.length;
    if (kept) await writeFile(file + suffix, encoded);
    const size = kept ? encoded.length : content.length;
    if (suffix === '.br') br += size;
    else gz += size;
  }
}
console.log(`${dist}: ${files.length} files, ${raw} bytes raw, ${br} brotli, ${gz} gzip`);
