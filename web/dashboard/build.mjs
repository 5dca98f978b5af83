// build.mjs: builds the dashboard page into dist/ (after `npm run build` has generated
// src/gql/ and type-checked the sources): index.html, and beneath dist/assets/ one
// script and one style sheet whose names carry a hash of their content, so the server can
// cache them for a year. The page's URLs are absolute under /dashboard/, where web/dashboard.go
// serves it. The output depends only on the sources and the locked packages: running it twice
// gives the same files (scripts/check-assets relies on that).
import { build } from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const root = path.dirname(new URL(import.meta.url).pathname);
const dist = path.join(root, 'dist');
const base = '/dashboard/';

await rm(dist, { recursive: true, force: true });
await mkdir(path.join(dist, 'assets'), { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/main.ts'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  platform: 'browser',
  outdir: 'dist/assets',
  entryNames: '[name]-[hash]',
  metafile: true,
  // Packages by the path they are installed at, not the one a symlink leads to: the
  // names' hashes cover the inputs' paths, and a copy of the page that links to these
  // packages (a test of scripts/check-assets) must build the same names.
  preserveSymlinks: true,
  sourcemap: false,
  logLevel: 'warning',
});

// The entry's outputs: its script and the style sheet its imports produced.
const outputs = Object.entries(result.metafile.outputs);
const [scriptFile] = outputs.find(([, o]) => o.entryPoint === 'src/main.ts');
const [styleFile] = outputs.find(([file]) => file.endsWith('.css'));
const url = (file) => base + path.relative('dist', file).split(path.sep).join('/');

const template = await readFile(path.join(root, 'src', 'index.html'), 'utf8');
const html = template
  .replace('%SCRIPT%', url(scriptFile))
  .replace('%STYLE%', url(styleFile));
if (/%[A-Z]+%/.test(html)) throw new Error('src/index.html has a placeholder the build does not fill');
await writeFile(path.join(dist, 'index.html'), html);
