// Where a character index sits inside a <textarea>/<input>, measured with a hidden mirror
// element that copies the control's box and typography. Used to draw partners' carets and
// selections over the field (form controls cannot hold markup of their own).

const COPIED = [
  'direction', 'boxSizing', 'borderTopWidth', 'borderRightWidth', 'borderBottomWidth', 'borderLeftWidth',
  'paddingTop', 'paddingRight', 'paddingBottom', 'paddingLeft',
  'fontStyle', 'fontVariant', 'fontWeight', 'fontStretch', 'fontSize', 'fontSizeAdjust', 'lineHeight',
  'fontFamily', 'fontFeatureSettings', 'textAlign', 'textTransform', 'textIndent', 'letterSpacing',
  'wordSpacing', 'tabSize', 'unicodeBidi'
]

let mirror = null

function getMirror () {
  if (!mirror) {
    mirror = document.createElement('div')
    mirror.setAttribute('aria-hidden', 'true')
    mirror.className = 'caret-mirror'
    document.body.appendChild(mirror)
  }
  return mirror
}

/**
 * Rectangles (relative to the control's border box, already scrolled) for a caret at `head`
 * and, when `anchor !== head`, for the selected text.
 *
 * @param {HTMLTextAreaElement|HTMLInputElement} el
 * @param {number} anchor
 * @param {number} head
 * @returns {{caret: {x: number, y: number, height: number}|null, selection: Array<{x: number, y: number, width: number, height: number}>}}
 */
export function measure (el, anchor, head) {
  const m = getMirror()
  const style = getComputedStyle(el)
  const isInput = el.tagName === 'INPUT'
  for (const name of COPIED) m.style[name] = style[name]
  m.style.position = 'absolute'
  m.style.visibility = 'hidden'
  m.style.overflow = 'hidden'
  m.style.borderStyle = 'solid'
  m.style.borderColor = 'transparent'
  m.style.boxSizing = 'content-box'
  const padX = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight)
  m.style.width = Math.max(0, el.clientWidth - padX) + 'px'
  m.style.whiteSpace = isInput ? 'pre' : 'pre-wrap'
  m.style.overflowWrap = isInput ? 'normal' : 'break-word'
  m.style.wordBreak = style.wordBreak
  m.style.height = 'auto'
  m.dir = el.getAttribute('dir') || 'auto'
  const rect = el.getBoundingClientRect()
  m.style.left = (rect.left + window.scrollX) + 'px'
  m.style.top = (rect.top + window.scrollY) + 'px'

  const value = el.value
  const length = value.length
  const a = Math.max(0, Math.min(anchor, length))
  const h = Math.max(0, Math.min(head, length))
  const start = Math.min(a, h)
  const end = Math.max(a, h)
  m.textContent = ''
  const marker = document.createElement('span')
  marker.textContent = '\u200b'
  const selected = document.createElement('span')
  selected.textContent = value.slice(start, end)
  if (h === start) {
    m.append(value.slice(0, start), marker, selected, value.slice(end))
  } else {
    m.append(value.slice(0, start), selected, marker, value.slice(end))
  }
  if (!isInput) m.append('\u200b') // a trailing newline still gets a line box

  const base = m.getBoundingClientRect()
  const dx = -base.left - el.scrollLeft
  const dy = -base.top - el.scrollTop
  const markerRect = marker.getBoundingClientRect()
  const caret = { x: markerRect.left + dx, y: markerRect.top + dy, height: markerRect.height }
  const selection = []
  if (end > start) {
    for (const r of selected.getClientRects()) {
      selection.push({ x: r.left + dx, y: r.top + dy, width: r.width, height: r.height })
    }
  }
  m.textContent = ''
  return { caret, selection }
}
