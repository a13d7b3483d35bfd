// Bundles src/main.js and its npm dependencies into one minified file in static/js/.
// `npm run build` writes static/js/worksheet.bundle.js (committed, so a Python-only install
// works); `npm run watch` rebuilds on change; add `--sourcemap` for a local .map while debugging.
import * as esbuild from 'esbuild'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))
const watch = process.argv.includes('--watch')
const sourcemap = process.argv.includes('--sourcemap')

const options = {
  entryPoints: [join(here, 'src/main.js')],
  outfile: join(here, '..', 'static', 'js', 'worksheet.bundle.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  platform: 'browser',
  sourcemap: sourcemap ? 'linked' : false,
  legalComments: 'eof',
  banner: {
    js: '/* Havruta Classroom worksheet bundle. Built from frontend/ with esbuild; includes yjs, y-protocols, y-indexeddb and lib0 (MIT, Kevin Jahns and contributors). Do not edit: run `npm run build` in frontend/. */'
  },
  logLevel: 'info'
}

if (watch) {
  const context = await esbuild.context(options)
  await context.watch()
} else {
  await esbuild.build(options)
}
