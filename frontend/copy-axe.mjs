// Copies axe-core's axe.min.js from node_modules into tests/vendor/, where the accessibility test
// (tests/test_a11y_axe.py) injects it into each page. The copy is committed so that a Python-only
// install runs that test without Node; rerun `npm run copy-axe` after changing axe-core's pinned
// version in package.json. The file keeps axe's MPL-2.0 licence header as shipped.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))
const source = join(here, 'node_modules', 'axe-core', 'axe.min.js')
const target = join(here, '..', 'tests', 'vendor', 'axe.min.js')
const { version } = JSON.parse(readFileSync(join(here, 'node_modules', 'axe-core', 'package.json'), 'utf8'))

if (!readFileSync(source, 'utf8').startsWith('/*! axe v' + version)) {
  throw new Error('axe.min.js does not start with its licence header; refusing to copy')
}
mkdirSync(dirname(target), { recursive: true })
copyFileSync(source, target)
copyFileSync(join(here, 'node_modules', 'axe-core', 'LICENSE'), join(dirname(target), 'axe-core.LICENSE'))
console.log(`copied axe-core ${version} to ${target}`)
