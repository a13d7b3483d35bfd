// `npm test`: the pure parts of the binding (node's built-in runner, no extra dependency).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { computeDiff, mapIndex, applyDelta, mergeRanges, rangeCovered, interpolate } from '../src/diff.js'

const apply = (before, { index, remove, insert }) => before.slice(0, index) + insert + before.slice(index + remove)

test('it turns before into after for random edits', () => {
  const alphabet = ['a', 'b', ' ', 'ש', '\n', '😀']
  let seed = 7
  const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  const word = (n) => Array.from({ length: n }, () => alphabet[rand(alphabet.length)]).join('')
  for (let i = 0; i < 3000; i++) {
    const before = word(rand(12))
    const at = rand(before.length + 1)
    const cut = rand(before.length - at + 1)
    const after = before.slice(0, at) + word(rand(4)) + before.slice(at + cut)
    const change = computeDiff(before, after, rand(after.length + 1))
    assert.equal(apply(before, change), after, JSON.stringify({ before, after, change }))
    // Never splits a surrogate pair.
    const code = before.charCodeAt(change.index - 1)
    assert.ok(!(code >= 0xd800 && code <= 0xdbff), JSON.stringify({ before, after, change }))
  }
})

test('it places an ambiguous insertion at the caret', () => {
  assert.deepEqual(computeDiff('aa', 'aaa', 1), { index: 0, remove: 0, insert: 'a' })
  assert.deepEqual(computeDiff('aa', 'aaa', 3), { index: 2, remove: 0, insert: 'a' })
  assert.deepEqual(computeDiff('abab', 'ab', 0), { index: 0, remove: 2, insert: '' })
  assert.deepEqual(computeDiff('hello', 'help', 4), { index: 3, remove: 2, insert: 'p' })
})

test('it maps a caret through a remote change', () => {
  const text = 'hello world'
  const delta = [{ retain: 2 }, { insert: 'XX' }, { retain: 3 }, { delete: 3 }]
  assert.equal(applyDelta(text, delta), 'heXXllorld')
  assert.equal(mapIndex(0, delta), 0)
  assert.equal(mapIndex(2, delta), 2) // an insert at the caret stays after it
  assert.equal(mapIndex(2, delta, true), 4)
  assert.equal(mapIndex(5, delta), 7)
  assert.equal(mapIndex(7, delta), 7) // inside the deleted range: to its start
  assert.equal(mapIndex(11, delta), 10)
})

test('it knows which deletions a server delete set covers', () => {
  const merged = mergeRanges([[5, 2], [0, 3], [3, 1], [10, 5]])
  assert.deepEqual(merged, [[0, 4], [5, 2], [10, 5]])
  assert.ok(rangeCovered(merged, 1, 3))
  assert.ok(!rangeCovered(merged, 3, 3))
  assert.ok(rangeCovered(merged, 11, 4))
  assert.ok(rangeCovered(merged, 20, 0))
})

test('it fills Django-style named placeholders', () => {
  assert.equal(interpolate('%(name)s is here', { name: 'Dana' }), 'Dana is here')
  assert.equal(interpolate('%(count)s unsaved', {}), '%(count)s unsaved')
})
