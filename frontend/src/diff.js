// Pure helpers for the character-level binding: no DOM, no Yjs.

const isHigh = (code) => code >= 0xd800 && code <= 0xdbff
const isLow = (code) => code >= 0xdc00 && code <= 0xdfff

/**
 * The smallest single change that turns `before` into `after`: delete `remove` code units at
 * `index`, then insert `insert` there.
 *
 * `caret` (the caret after the edit, when known) settles ambiguous cases: typing "a" into "aa"
 * could be an insert at 0, 1 or 2; the caret says where the user typed, which matters for
 * authorship and for merging with a partner typing nearby. Surrogate pairs are never split.
 *
 * @param {string} before
 * @param {string} after
 * @param {number} [caret]
 * @returns {{index: number, remove: number, insert: string}}
 */
export function computeDiff (before, after, caret) {
  if (before === after) return { index: before.length, remove: 0, insert: '' }
  const min = Math.min(before.length, after.length)
  let start = 0
  while (start < min && before.charCodeAt(start) === after.charCodeAt(start)) start++
  let endBefore = before.length
  let endAfter = after.length
  while (endBefore > start && endAfter > start && before.charCodeAt(endBefore - 1) === after.charCodeAt(endAfter - 1)) {
    endBefore--
    endAfter--
  }
  if (typeof caret === 'number') {
    if (endBefore === start) {
      // A pure insertion after[start, endAfter): slide it left so it ends at the caret.
      while (endAfter > caret && start > 0 && after.charCodeAt(start - 1) === after.charCodeAt(endAfter - 1)) {
        start--
        endAfter--
        endBefore--
      }
    } else if (endAfter === start) {
      // A pure deletion before[start, endBefore): slide it left so it starts at the caret.
      while (start > caret && before.charCodeAt(start - 1) === before.charCodeAt(endBefore - 1)) {
        start--
        endBefore--
        endAfter--
      }
    }
  }
  // Never cut a surrogate pair in half (emoji, rare CJK): widen the change instead.
  if (start > 0 && isHigh(before.charCodeAt(start - 1)) && (isLow(before.charCodeAt(start)) || isLow(after.charCodeAt(start)))) {
    start--
  }
  if (endBefore < before.length && isLow(before.charCodeAt(endBefore)) && endBefore > 0 &&
      (isHigh(before.charCodeAt(endBefore - 1)) || isHigh(after.charCodeAt(endAfter - 1)))) {
    endBefore++
    endAfter++
  }
  return { index: start, remove: endBefore - start, insert: after.slice(start, endAfter) }
}

/**
 * Where `index` (a position in the text before a change) ends up after the change, given the
 * change as a Yjs delta ([{retain}, {insert}, {delete}]). An insertion exactly at `index` pushes
 * the position forward only when `assocRight` is true.
 *
 * @param {number} index
 * @param {Array<{retain?: number, insert?: any, delete?: number}>} delta
 * @param {boolean} [assocRight]
 */
export function mapIndex (index, delta, assocRight = false) {
  let pos = 0
  let shift = 0
  for (const op of delta) {
    if (pos > index) break
    if (op.retain !== undefined) {
      pos += op.retain
    } else if (op.insert !== undefined) {
      const length = typeof op.insert === 'string' ? op.insert.length : 1
      if (pos < index || (pos === index && assocRight)) shift += length
      else break
    } else if (op.delete !== undefined) {
      if (pos < index) shift -= Math.min(op.delete, index - pos)
      pos += op.delete
    }
  }
  return Math.max(0, index + shift)
}

/**
 * Apply a delta to a plain string (used to check mapping logic and for read-only mirrors).
 * @param {string} text
 * @param {Array<{retain?: number, insert?: any, delete?: number}>} delta
 */
export function applyDelta (text, delta) {
  let out = ''
  let pos = 0
  for (const op of delta) {
    if (op.retain !== undefined) {
      out += text.slice(pos, pos + op.retain)
      pos += op.retain
    } else if (op.insert !== undefined) {
      out += typeof op.insert === 'string' ? op.insert : ''
    } else if (op.delete !== undefined) {
      pos += op.delete
    }
  }
  return out + text.slice(pos)
}

/**
 * Merge and sort [clock, length] ranges.
 * @param {Array<[number, number]>} ranges
 * @returns {Array<[number, number]>}
 */
export function mergeRanges (ranges) {
  const sorted = ranges.filter(r => r[1] > 0).sort((a, b) => a[0] - b[0])
  const out = []
  for (const [clock, len] of sorted) {
    const last = out[out.length - 1]
    if (last && clock <= last[0] + last[1]) {
      last[1] = Math.max(last[1], clock + len - last[0])
    } else {
      out.push([clock, len])
    }
  }
  return out
}

/**
 * Is [clock, clock + len) entirely inside the merged ranges?
 * @param {Array<[number, number]>} merged
 */
export function rangeCovered (merged, clock, len) {
  if (len <= 0) return true
  for (const [start, length] of merged) {
    if (start <= clock && clock + len <= start + length) return true
    if (start > clock) return false
  }
  return false
}

/**
 * "%(name)s is here" with {name: "Dana"} -> "Dana is here" (Django's named placeholders).
 * @param {string} template
 * @param {Record<string, any>} values
 */
export function interpolate (template, values) {
  return String(template).replace(/%\((\w+)\)s/g, (match, key) => (key in values ? String(values[key]) : match))
}

/**
 * In a right-to-left page, wrap text of its own direction (an English question label in a Hebrew
 * sentence) in Unicode isolates, so its punctuation stays with it in plain-text messages.
 * @param {string} text
 */
export function isolate (text) {
  const rtl = typeof document !== 'undefined' && document.documentElement.dir === 'rtl'
  return text && rtl ? `\u2068${text}\u2069` : text
}
