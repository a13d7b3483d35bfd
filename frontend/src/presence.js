// Who of the havruta is here, where they are writing, and their carets.
//
// Awareness state (one per browser tab, sent in the shared room):
//   {user: {id, name, color, role}, field: "<doc>:<key>"|null,
//    cursor: {anchor, head}|null (Y relative positions as JSON), typing: bool, visible: bool}
// Names and colours of members come from the page's config, never from the wire.

import { measure } from './caret.js'
import { interpolate, isolate } from './diff.js'

const COLOR = /^#[0-9a-fA-F]{6}$/
const TYPING_IDLE_MS = 2500
const SEND_EVERY_MS = 80

export class Announcer {
  /** A polite live region that never floods: one message at a time, repeats suppressed. */
  constructor (element) {
    this.el = element
    this.queue = []
    this.recent = new Map()
    this.busyUntil = 0
    this.timer = null
  }

  say (message, { key = message, quietFor = 20000 } = {}) {
    if (!this.el) return
    const now = Date.now()
    if ((this.recent.get(key) || 0) > now) return
    this.recent.set(key, now + quietFor)
    if (this.queue.length >= 3) this.queue.shift()
    this.queue.push(message)
    this._pump()
  }

  _pump () {
    if (this.timer || !this.queue.length) return
    const wait = Math.max(0, this.busyUntil - Date.now())
    this.timer = setTimeout(() => {
      this.timer = null
      const message = this.queue.shift()
      this.el.textContent = message
      this.busyUntil = Date.now() + 4000
      this._pump()
    }, wait)
  }
}

export class Presence {
  /**
   * @param {object} options
   * @param {import('y-protocols/awareness').Awareness} options.awareness
   * @param {any} options.config page config (me, members, teacherColor, strings)
   * @param {(fieldId: string) => string} options.fieldLabel
   * @param {(fieldId: string, position: any) => ({element: HTMLTextAreaElement|HTMLInputElement, index: number}|null)} options.resolve
   * @param {HTMLElement|null} options.bar
   * @param {Announcer} options.announcer
   * @param {HTMLElement} options.root
   * @param {() => boolean} [options.isConnected] whether our own socket to the shared room is up
   */
  constructor ({ awareness, config, fieldLabel, resolve, bar, announcer, root, isConnected }) {
    this.awareness = awareness
    this.config = config
    this.strings = config.strings
    this.me = config.me
    this.members = new Map(config.members.map(m => [String(m.id), m]))
    this.fieldLabel = fieldLabel
    this.resolve = resolve
    this.bar = bar
    this.announcer = announcer
    this.root = root
    this.isConnected = isConnected || (() => true)
    this.present = new Set()
    this.layers = new Set()
    this.frame = 0
    this.typingTimer = null
    this.sendTimer = null
    this.pendingLocal = null
    this.startedAt = Date.now()

    awareness.setLocalState({
      user: { id: this.me.id, name: this.me.name, color: this.me.color, role: this.me.role },
      field: null,
      cursor: null,
      typing: false,
      visible: this.me.role === 'teacher' ? config.teacherVisible !== false : true
    })
    awareness.on('change', () => this.schedule())
    window.addEventListener('resize', () => this.schedule())
    this.schedule()
  }

  // ---- local state --------------------------------------------------------------------------

  /** Queue a change of our own state; sent at most every SEND_EVERY_MS. */
  setLocal (fields) {
    this.pendingLocal = Object.assign(this.pendingLocal || {}, fields)
    if (this.sendTimer) return
    this.sendTimer = setTimeout(() => {
      this.sendTimer = null
      const current = this.awareness.getLocalState()
      if (!current || !this.pendingLocal) return
      const next = Object.assign({}, current, this.pendingLocal)
      this.pendingLocal = null
      if (JSON.stringify(next) !== JSON.stringify(current)) this.awareness.setLocalState(next)
    }, SEND_EVERY_MS)
  }

  typed () {
    this.setLocal({ typing: true })
    clearTimeout(this.typingTimer)
    this.typingTimer = setTimeout(() => this.setLocal({ typing: false }), TYPING_IDLE_MS)
  }

  leave () {
    this.awareness.setLocalState(null)
  }

  // ---- remote states ------------------------------------------------------------------------

  /** The people here, one entry per user (several tabs of one user collapse). */
  people () {
    const byUser = new Map()
    this.awareness.getStates().forEach((state, clientId) => {
      if (clientId === this.awareness.clientID || !state || !state.user) return
      const id = String(state.user.id)
      if (id === String(this.me.id)) return
      const previous = byUser.get(id)
      // Prefer the tab that is in a field.
      if (!previous || (!previous.field && state.field)) byUser.set(id, state)
    })
    return byUser
  }

  colorOf (state) {
    const member = this.members.get(String(state.user.id))
    if (member) return member.color
    if (state.user.role === 'teacher') return this.config.teacherColor
    return COLOR.test(state.user.color || '') ? state.user.color : this.config.teacherColor
  }

  nameOf (state) {
    const member = this.members.get(String(state.user.id))
    return member ? member.name : String(state.user.name || this.strings.someone).slice(0, 80)
  }

  schedule () {
    if (this.frame) return
    this.frame = requestAnimationFrame(() => {
      this.frame = 0
      this.render()
    })
  }

  render () {
    const people = this.people()
    this._announceArrivals(people)
    this._renderBar(people)
    this._renderBadges(people)
    this._renderCarets(people)
  }

  _announceArrivals (people) {
    // When our own connection drops we forget who is here, but nobody left: the status says we are
    // reconnecting. Wait until we are back, then announce only real arrivals and departures.
    if (!this.isConnected()) return
    const now = new Set()
    for (const [id, state] of people) {
      if (state.user.role === 'teacher') continue
      now.add(id)
      if (!this.present.has(id)) {
        // Someone already here when the page opens "is here"; later arrivals "joined".
        const message = Date.now() - this.startedAt < 4000 ? this.strings.here : this.strings.joined
        this.announcer.say(interpolate(message, { name: this.nameOf(state) }), { key: 'join-' + id })
      }
    }
    for (const id of this.present) {
      if (!now.has(id)) {
        const member = this.members.get(id)
        if (member) this.announcer.say(interpolate(this.strings.left, { name: member.name }), { key: 'left-' + id })
      }
    }
    this.present = now
  }

  _renderBar (people) {
    if (!this.bar) return
    const list = this.bar.querySelector('[data-presence-list]')
    const teacherLine = this.bar.querySelector('[data-teacher-presence]')
    if (list) {
      list.textContent = ''
      for (const member of this.config.members) {
        if (String(member.id) === String(this.me.id)) continue
        const state = people.get(String(member.id))
        const li = document.createElement('li')
        li.className = 'presence-person' + (state ? ' is-here' : '')
        li.dataset.userId = String(member.id)
        const dot = document.createElement('span')
        dot.className = 'presence-dot'
        dot.style.setProperty('--person-color', member.color)
        dot.setAttribute('aria-hidden', 'true')
        const text = document.createElement('span')
        text.className = 'presence-text'
        text.dir = 'auto'
        text.textContent = this._describe(member.name, state)
        li.append(dot, text)
        list.append(li)
      }
    }
    if (teacherLine) {
      const teachers = Array.from(people.values()).filter(s => s.user.role === 'teacher' && s.visible !== false)
      if (this.me.role === 'teacher') {
        teacherLine.hidden = true
      } else {
        teacherLine.hidden = teachers.length === 0
        teacherLine.textContent = teachers.length ? this.strings.teacherListening : ''
      }
    }
  }

  _describe (name, state) {
    if (!state) return interpolate(this.strings.notHere, { name })
    if (state.field) {
      const field = this.fieldLabel(state.field)
      if (field) {
        return interpolate(state.typing ? this.strings.typingIn : this.strings.hereIn, { name, field: isolate(field) })
      }
    }
    return interpolate(state.typing ? this.strings.typing : this.strings.here, { name })
  }

  _renderBadges (people) {
    const byField = new Map()
    for (const state of people.values()) {
      if (!state.field || (state.user.role === 'teacher' && state.visible === false)) continue
      if (!byField.has(state.field)) byField.set(state.field, [])
      byField.get(state.field).push(state)
    }
    for (const holder of this.root.querySelectorAll('[data-field-id]')) {
      const slot = holder.querySelector('.field-presence')
      if (!slot) continue
      const states = byField.get(holder.dataset.fieldId) || []
      holder.classList.toggle('has-partner', states.length > 0)
      const key = states.map(s => `${s.user.id}:${s.typing ? 1 : 0}`).join(',')
      if (slot.dataset.key === key) continue
      slot.dataset.key = key
      slot.textContent = ''
      for (const state of states) {
        const badge = document.createElement('span')
        badge.className = 'presence-badge'
        badge.dir = 'auto'
        badge.style.setProperty('--person-color', this.colorOf(state))
        badge.textContent = state.typing ? interpolate(this.strings.badgeTyping, { name: this.nameOf(state) }) : this.nameOf(state)
        slot.append(badge)
      }
      if (states.length) holder.style.setProperty('--partner-color', this.colorOf(states[0]))
      else holder.style.removeProperty('--partner-color')
    }
  }

  _layerFor (element) {
    const wrap = element.closest('.ytext-wrap')
    if (!wrap) return null
    let layer = wrap.querySelector(':scope > .remote-carets')
    if (!layer) {
      layer = document.createElement('div')
      layer.className = 'remote-carets'
      layer.setAttribute('aria-hidden', 'true')
      wrap.append(layer)
      element.addEventListener('scroll', () => this.schedule())
    }
    layer.style.top = element.offsetTop + 'px'
    layer.style.left = element.offsetLeft + 'px'
    layer.style.width = element.offsetWidth + 'px'
    layer.style.height = element.offsetHeight + 'px'
    return layer
  }

  _renderCarets (people) {
    for (const layer of this.layers) layer.textContent = ''
    this.layers.clear()
    for (const state of people.values()) {
      if (!state.field || !state.cursor || (state.user.role === 'teacher' && state.visible === false)) continue
      const head = this.resolve(state.field, state.cursor.head)
      if (!head) continue
      const anchor = this.resolve(state.field, state.cursor.anchor)
      const element = head.element
      const layer = this._layerFor(element)
      if (!layer || element.offsetParent === null) continue
      this.layers.add(layer)
      const color = this.colorOf(state)
      const anchorIndex = anchor && anchor.element === element ? anchor.index : head.index
      let box
      try {
        box = measure(element, anchorIndex, head.index)
      } catch (e) {
        continue
      }
      for (const r of box.selection) {
        const sel = document.createElement('div')
        sel.className = 'remote-selection'
        Object.assign(sel.style, { left: r.x + 'px', top: r.y + 'px', width: r.width + 'px', height: r.height + 'px' })
        sel.style.setProperty('--person-color', color)
        layer.append(sel)
      }
      const c = box.caret
      if (c && c.y + c.height > 0 && c.y < element.clientHeight + 2) {
        const caret = document.createElement('div')
        caret.className = 'remote-caret'
        Object.assign(caret.style, { left: c.x + 'px', top: c.y + 'px', height: (c.height || 18) + 'px' })
        caret.style.setProperty('--person-color', color)
        const flag = document.createElement('span')
        flag.className = 'remote-caret-name'
        flag.textContent = this.nameOf(state)
        caret.append(flag)
        layer.append(caret)
      }
    }
  }
}
