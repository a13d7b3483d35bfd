// Bindings for the non-text kinds and for lists of entries.
//
// list      -> Y.Array of Y.Text (one per entry)
// choice    -> Y.Map {value: "<option value>"}
// scale     -> Y.Map {value: "<point value>"}
// checklist -> Y.Map {<option value>: true|false}

import * as Y from 'yjs'
import { TextBinding } from './textbinding.js'
import { interpolate } from './diff.js'

export class ListBinding {
  /**
   * @param {Y.Array<Y.Text>} yarray
   * @param {HTMLElement} root the field's element ([data-kind="list"])
   * @param {object} options
   */
  constructor (yarray, root, { author, writable, strings, label, idPrefix, onEntry, onEntryGone, onLocalChange, onRemoteChange }) {
    this.yarray = yarray
    this.doc = yarray.doc
    this.root = root
    this.list = root.querySelector('[data-bind="list"]')
    this.addButton = root.querySelector('[data-action="add-entry"]')
    this.empty = root.querySelector('[data-list-empty]')
    this.author = author
    this.writable = writable
    this.strings = strings
    this.label = label
    this.idPrefix = idPrefix
    this.onEntry = onEntry || (() => {})
    this.onEntryGone = onEntryGone || (() => {})
    this.onLocalChange = onLocalChange || (() => {})
    this.onRemoteChange = onRemoteChange || (() => {})
    /** @type {Map<Y.Text, {li: HTMLLIElement, binding: TextBinding, textarea: HTMLTextAreaElement, remove: HTMLButtonElement|null}>} */
    this.entries = new Map()
    this.serial = 0

    if (this.addButton) {
      this.addButton.hidden = !writable
      this.addButton.addEventListener('click', () => this.addEntry(this.yarray.length))
    }
    this._onArray = (event) => {
      this.render()
      if (event.transaction.origin !== this) this.onRemoteChange(event)
    }
    yarray.observe(this._onArray)
    this.render()
  }

  addEntry (index) {
    if (!this.writable) return
    const ytext = new Y.Text()
    this.doc.transact(() => this.yarray.insert(index, [ytext]), this)
    this.onLocalChange()
    const entry = this.entries.get(ytext)
    if (entry) entry.textarea.focus()
  }

  removeEntry (ytext) {
    if (!this.writable) return
    const items = this.yarray.toArray()
    const index = items.indexOf(ytext)
    if (index < 0) return
    this.doc.transact(() => this.yarray.delete(index, 1), this)
    this.onLocalChange()
    const next = this.yarray.get(Math.max(0, index - 1))
    const entry = next && this.entries.get(next)
    if (entry) entry.textarea.focus()
    else if (this.addButton) this.addButton.focus()
  }

  _createEntry (ytext) {
    const li = document.createElement('li')
    li.className = 'entry'
    const id = `${this.idPrefix}-entry-${++this.serial}`
    const wrap = document.createElement('div')
    wrap.className = 'ytext-wrap'
    const label = document.createElement('label')
    label.className = 'visually-hidden'
    label.htmlFor = id
    const textarea = document.createElement('textarea')
    textarea.id = id
    textarea.rows = 2
    textarea.dir = 'auto'
    textarea.className = 'entry-input'
    if (this.root.dataset.helpId) textarea.setAttribute('aria-describedby', this.root.dataset.helpId)
    wrap.append(label, textarea)
    li.append(wrap)
    let remove = null
    if (this.writable) {
      remove = document.createElement('button')
      remove.type = 'button'
      remove.className = 'button-small button-link entry-remove'
      remove.addEventListener('click', () => this.removeEntry(ytext))
      li.append(remove)
      textarea.addEventListener('keydown', (event) => {
        // Enter starts the next entry (one detail per entry); Shift+Enter breaks the line.
        if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
          event.preventDefault()
          const index = this.yarray.toArray().indexOf(ytext)
          this.addEntry(index + 1)
        } else if (event.key === 'Backspace' && textarea.value === '' && !event.isComposing) {
          event.preventDefault()
          this.removeEntry(ytext)
        }
      })
    }
    const binding = new TextBinding(ytext, textarea, {
      author: this.author,
      writable: this.writable,
      onLocalChange: this.onLocalChange,
      onRemoteChange: this.onRemoteChange
    })
    const entry = { li, binding, textarea, remove, label }
    this.entries.set(ytext, entry)
    this.onEntry(ytext, entry)
    return entry
  }

  render () {
    const items = this.yarray.toArray().filter(item => item instanceof Y.Text)
    const alive = new Set(items)
    for (const [ytext, entry] of this.entries) {
      if (!alive.has(ytext)) {
        entry.binding.destroy()
        entry.li.remove()
        this.entries.delete(ytext)
        this.onEntryGone(ytext, entry)
      }
    }
    const focused = document.activeElement
    let cursor = this.list.firstElementChild
    items.forEach((ytext, i) => {
      const entry = this.entries.get(ytext) || this._createEntry(ytext)
      if (entry.li !== cursor) this.list.insertBefore(entry.li, cursor)
      else cursor = cursor.nextElementSibling
      const number = i + 1
      entry.label.textContent = interpolate(this.strings.entryLabel, { number, label: this.label })
      if (entry.remove) {
        entry.remove.textContent = interpolate(this.strings.removeEntry, { number })
        entry.remove.setAttribute('aria-label', interpolate(this.strings.removeEntryOf, { number, label: this.label }))
      }
    })
    if (focused && focused !== document.activeElement && this.list.contains(focused)) focused.focus()
    if (this.empty) this.empty.hidden = items.length > 0
  }

  destroy () {
    this.yarray.unobserve(this._onArray)
    for (const entry of this.entries.values()) entry.binding.destroy()
  }
}

export class ChoiceBinding {
  /**
   * Radios (choice and scale) bound to map.value.
   * @param {Y.Map<any>} ymap
   * @param {HTMLElement} root
   */
  constructor (ymap, root, { writable, onLocalChange, onRemoteChange }) {
    this.ymap = ymap
    this.root = root
    this.radios = Array.from(root.querySelectorAll('input[type="radio"]'))
    this.clear = root.querySelector('[data-action="clear-choice"]')
    this.writable = writable
    this.onLocalChange = onLocalChange || (() => {})
    for (const radio of this.radios) {
      radio.disabled = !writable
      radio.addEventListener('change', () => {
        if (!radio.checked || !this.writable) return
        ymap.doc.transact(() => ymap.set('value', radio.value), this)
        this.onLocalChange()
        this.render()
      })
    }
    if (this.clear) {
      this.clear.addEventListener('click', () => {
        ymap.doc.transact(() => ymap.delete('value'), this)
        this.onLocalChange()
        this.render()
        if (this.radios[0]) this.radios[0].focus()
      })
    }
    this._observer = (event) => {
      this.render()
      if (event.transaction.origin !== this && onRemoteChange) onRemoteChange(event)
    }
    ymap.observe(this._observer)
    this.render()
  }

  render () {
    const value = this.ymap.get('value')
    for (const radio of this.radios) radio.checked = value !== undefined && value !== null && radio.value === String(value)
    if (this.clear) this.clear.hidden = !this.writable || value === undefined || value === null
  }

  destroy () { this.ymap.unobserve(this._observer) }
}

export class ChecklistBinding {
  /**
   * @param {Y.Map<boolean>} ymap
   * @param {HTMLElement} root
   */
  constructor (ymap, root, { writable, onLocalChange, onRemoteChange }) {
    this.ymap = ymap
    this.boxes = Array.from(root.querySelectorAll('input[type="checkbox"]'))
    for (const box of this.boxes) {
      box.disabled = !writable
      box.addEventListener('change', () => {
        if (!writable) return
        ymap.doc.transact(() => ymap.set(box.value, box.checked), this)
        if (onLocalChange) onLocalChange()
      })
    }
    this._observer = (event) => {
      this.render()
      if (event.transaction.origin !== this && onRemoteChange) onRemoteChange(event)
    }
    ymap.observe(this._observer)
    this.render()
  }

  render () {
    for (const box of this.boxes) box.checked = this.ymap.get(box.value) === true
  }

  destroy () { this.ymap.unobserve(this._observer) }
}
