// "Show who wrote what": each text field's content coloured by who typed it, read from the
// author attribute ({a: "<user id>"}) that every insert carries.

import { interpolate } from './diff.js'

export class AuthorshipView {
  /**
   * @param {import('yjs').Text} ytext
   * @param {HTMLElement} container where the coloured copy goes
   * @param {{authors: Map<string, {name: string, color: string}>, strings: any, isOn: () => boolean}} options
   */
  constructor (ytext, container, { authors, strings, isOn }) {
    this.ytext = ytext
    this.container = container
    this.authors = authors
    this.strings = strings
    this.isOn = isOn
    this.frame = 0
    this._observer = () => this.schedule()
    ytext.observe(this._observer)
  }

  schedule () {
    if (!this.isOn() || this.frame) return
    this.frame = requestAnimationFrame(() => {
      this.frame = 0
      this.render()
    })
  }

  render () {
    const box = this.container
    box.textContent = ''
    const delta = this.ytext.toDelta()
    if (!delta.length) {
      const empty = document.createElement('span')
      empty.className = 'muted'
      empty.textContent = this.strings.nothingYet
      box.append(empty)
      return
    }
    let previous = null
    for (const op of delta) {
      if (typeof op.insert !== 'string') continue
      const id = op.attributes && op.attributes.a !== undefined ? String(op.attributes.a) : ''
      const author = this.authors.get(id)
      if (id !== previous) {
        // Colour is not the only cue: a screen reader hears who starts writing.
        const who = document.createElement('span')
        who.className = 'visually-hidden'
        who.textContent = interpolate(this.strings.writtenBy, { name: author ? author.name : this.strings.someone }) + ' '
        box.append(who)
        previous = id
      }
      const span = document.createElement('span')
      span.className = 'authored'
      span.textContent = op.insert
      span.style.setProperty('--author-color', author ? author.color : '#4d4d4d')
      span.title = interpolate(this.strings.writtenBy, { name: author ? author.name : this.strings.someone })
      box.append(span)
    }
  }

  destroy () {
    this.ytext.unobserve(this._observer)
    if (this.frame) cancelAnimationFrame(this.frame)
    this.container.remove()
  }
}
