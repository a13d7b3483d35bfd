// A <textarea> or <input> bound to a Y.Text, character by character.
//
// Local input becomes the minimal insert/delete (with the author attribute) in one transaction;
// remote changes update the value while the local caret and selection keep their place (mapped
// through the change). During IME composition nothing is written to the doc or to the element;
// remote changes that arrive meanwhile are queued and the composed text is mapped through them.

import { computeDiff, mapIndex } from './diff.js'

export class TextBinding {
  /**
   * @param {import('yjs').Text} ytext
   * @param {HTMLTextAreaElement|HTMLInputElement} element
   * @param {{author: string, writable: boolean, onLocalChange?: () => void, onRemoteChange?: (event: any) => void}} options
   */
  constructor (ytext, element, { author, writable, onLocalChange, onRemoteChange }) {
    this.ytext = ytext
    this.doc = ytext.doc
    this.el = element
    this.author = author
    this.writable = writable
    this.onLocalChange = onLocalChange || (() => {})
    this.onRemoteChange = onRemoteChange || (() => {})
    this.composing = false
    /** Remote deltas not yet shown in the element (only while composing or mid-flush). */
    this.queued = []
    this.flushScheduled = false
    /** What the element showed after our last sync with the doc. */
    this.value = ytext.toString()
    element.value = this.value
    if (!writable) element.readOnly = true

    this._onY = (event) => {
      if (event.transaction.origin === this) return
      this.queued.push(event.delta)
      this.onRemoteChange(event)
      if (!this.composing) this._scheduleFlush()
    }
    ytext.observe(this._onY)

    this._onInput = (event) => {
      if (this.composing || event.isComposing) return
      this._flush()
    }
    this._onCompositionStart = () => { this.composing = true }
    this._onCompositionEnd = () => {
      this.composing = false
      // Chromium fires input before compositionend, Firefox after; flushing here covers both.
      this._flush()
    }
    element.addEventListener('input', this._onInput)
    element.addEventListener('compositionstart', this._onCompositionStart)
    element.addEventListener('compositionend', this._onCompositionEnd)
  }

  _scheduleFlush () {
    if (this.flushScheduled) return
    this.flushScheduled = true
    queueMicrotask(() => {
      this.flushScheduled = false
      if (!this.composing) this._flush()
    })
  }

  /** Bring doc and element together: local edits first (mapped over queued remote ones), then render. */
  _flush () {
    const el = this.el
    const current = el.value
    const queued = this.queued
    this.queued = []
    if (current !== this.value && this.writable) {
      const caret = el.selectionEnd === null ? undefined : el.selectionEnd
      const change = computeDiff(this.value, current, caret)
      let start = change.index
      let end = change.index + change.remove
      for (const delta of queued) {
        start = mapIndex(start, delta, false)
        end = mapIndex(end, delta, false)
      }
      this.doc.transact(() => {
        if (end > start) this.ytext.delete(start, end - start)
        if (change.insert) this.ytext.insert(start, change.insert, { a: this.author })
      }, this)
      const text = this.ytext.toString()
      if (text !== current) {
        // Remote edits were waiting: show the merged text with the caret after what was typed.
        const caretAt = start + change.insert.length
        this._setValue(text, caretAt, caretAt, 'none')
      } else {
        this.value = text
      }
      this.onLocalChange()
      return
    }
    if (!queued.length && current === this.value) return
    let start = el.selectionStart || 0
    let end = el.selectionEnd || 0
    for (const delta of queued) {
      start = mapIndex(start, delta, false)
      end = mapIndex(end, delta, false)
    }
    this._setValue(this.ytext.toString(), start, end, el.selectionDirection || 'none')
  }

  _setValue (text, start, end, direction) {
    const el = this.el
    this.value = text
    if (el.value === text) return
    const focused = el.ownerDocument.activeElement === el
    const scrollTop = el.scrollTop
    const scrollLeft = el.scrollLeft
    el.value = text
    if (focused) {
      try { el.setSelectionRange(start, end, direction) } catch (e) { /* not a text control */ }
    }
    el.scrollTop = scrollTop
    el.scrollLeft = scrollLeft
    el.dispatchEvent(new CustomEvent('ws:remote-value', { bubbles: true }))
  }

  /** Current selection as {anchor, head} indices in the Y.Text. */
  selection () {
    const el = this.el
    const start = el.selectionStart || 0
    const end = el.selectionEnd || 0
    return el.selectionDirection === 'backward' ? { anchor: end, head: start } : { anchor: start, head: end }
  }

  destroy () {
    this.ytext.unobserve(this._onY)
    this.el.removeEventListener('input', this._onInput)
    this.el.removeEventListener('compositionstart', this._onCompositionStart)
    this.el.removeEventListener('compositionend', this._onCompositionEnd)
  }
}
