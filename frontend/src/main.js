// The live worksheet page: one shared Y.Doc and one personal Y.Doc per member, each synced over
// its own websocket room, kept in IndexedDB while offline, and bound to the server-rendered form.

import * as Y from 'yjs'
import { Awareness } from 'y-protocols/awareness'
import { IndexeddbPersistence } from 'y-indexeddb'
import { RoomProvider } from './provider.js'
import { TextBinding } from './textbinding.js'
import { ListBinding, ChoiceBinding, ChecklistBinding } from './fields.js'
import { Presence, Announcer } from './presence.js'
import { AuthorshipView } from './authorship.js'
import { interpolate, isolate } from './diff.js'

function readConfig () {
  const node = document.getElementById('worksheet-config')
  if (!node) return null
  try {
    return JSON.parse(node.textContent)
  } catch (e) {
    console.error('worksheet: unreadable config', e)
    return null
  }
}

function socketUrl (path) {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${window.location.host}${path}`
}

function indexedDbAvailable () {
  try {
    return typeof indexedDB !== 'undefined' && indexedDB !== null
  } catch (e) {
    return false
  }
}

function start () {
  const config = readConfig()
  const root = document.getElementById('worksheet')
  if (!config || !root) return
  root.classList.add('js-ready')
  const strings = config.strings
  const me = config.me
  const author = String(me.id)
  const announcer = new Announcer(document.getElementById('worksheet-announcer'))
  const authors = new Map(config.members.map(m => [String(m.id), { name: m.name, color: m.color }]))

  // ---- documents, storage and rooms ---------------------------------------------------------
  /** @type {Record<string, {doc: Y.Doc, info: any, provider: RoomProvider|null, awareness: Awareness}>} */
  const rooms = {}
  const useIndexedDb = indexedDbAvailable()
  for (const info of config.docs) {
    const doc = new Y.Doc()
    const awareness = new Awareness(doc)
    if (info.name !== 'shared') awareness.setLocalState(null) // presence travels in the shared room
    let persistence = null
    if (info.writable && useIndexedDb) {
      try {
        persistence = new IndexeddbPersistence(`havruta:w${config.worksheet}:${config.stamp}:u${me.id}:${info.name}`, doc)
      } catch (e) {
        persistence = null
      }
    }
    rooms[info.name] = { doc, info, awareness, persistence, provider: null }
  }

  // ---- bindings -----------------------------------------------------------------------------
  /** Y.Text -> the element showing it and its field id (to place partners' carets). */
  const textElements = new Map()
  const authorship = new Set()
  const showAuthors = () => root.classList.contains('show-authors')
  const fieldLabels = new Map()
  let presence = null

  const announceRemote = (fieldId) => (event) => {
    const origin = event.transaction.origin
    if (!(origin instanceof RoomProvider) || !origin.synced) return // initial load and catch-up stay quiet
    const label = fieldLabels.get(fieldId) || ''
    const names = new Set()
    if (event.delta) {
      for (const op of event.delta) {
        const id = op.attributes && op.attributes.a !== undefined ? String(op.attributes.a) : null
        if (op.insert !== undefined && id && id !== author && authors.has(id)) names.add(authors.get(id).name)
      }
    }
    if (!names.size && presence) {
      for (const state of presence.people().values()) {
        if (state.field === fieldId && state.user.role !== 'teacher') names.add(presence.nameOf(state))
      }
    }
    if (names.size) {
      for (const name of names) {
        announcer.say(interpolate(strings.writingIn, { name, field: isolate(label) }), { key: `edit:${name}:${fieldId}`, quietFor: 30000 })
      }
    } else {
      announcer.say(interpolate(strings.changed, { field: label }), { key: `edit::${fieldId}`, quietFor: 30000 })
    }
  }

  const addAuthorship = (ytext, container) => {
    const view = new AuthorshipView(ytext, container, { authors, strings, isOn: showAuthors })
    authorship.add(view)
    if (showAuthors()) view.render()
    return view
  }

  const bindings = []
  for (const holder of root.querySelectorAll('[data-field-id]')) {
    const docName = holder.dataset.doc
    const key = holder.dataset.key
    const kind = holder.dataset.kind
    const room = rooms[docName]
    if (!room) continue
    const fieldId = holder.dataset.fieldId
    fieldLabels.set(fieldId, holder.dataset.label || key)
    const writable = Boolean(room.info.writable)
    const onLocalChange = () => { if (presence) presence.typed() }
    const onRemoteChange = announceRemote(fieldId)
    holder.classList.toggle('is-readonly', !writable)
    if (kind === 'short_text' || kind === 'long_text') {
      const element = holder.querySelector('[data-bind="text"]')
      const ytext = room.doc.getText(key)
      bindings.push(new TextBinding(ytext, element, { author, writable, onLocalChange, onRemoteChange }))
      textElements.set(ytext, { element, fieldId })
      const container = holder.querySelector('[data-authorship]')
      if (container) addAuthorship(ytext, container)
    } else if (kind === 'list') {
      const views = new Map()
      bindings.push(new ListBinding(room.doc.getArray(key), holder, {
        author,
        writable,
        strings,
        label: holder.dataset.label || key,
        idPrefix: holder.id || fieldId.replace(/[^a-zA-Z0-9_-]/g, '-'),
        onLocalChange,
        onRemoteChange,
        onEntry: (ytext, entry) => {
          textElements.set(ytext, { element: entry.textarea, fieldId })
          const container = document.createElement('div')
          container.className = 'authorship'
          entry.li.append(container)
          views.set(ytext, addAuthorship(ytext, container))
          entry.textarea.addEventListener('input', onLocalChange)
        },
        onEntryGone: (ytext) => {
          textElements.delete(ytext)
          const view = views.get(ytext)
          if (view) {
            view.destroy()
            authorship.delete(view)
            views.delete(ytext)
          }
        }
      }))
    } else if (kind === 'choice' || kind === 'scale') {
      bindings.push(new ChoiceBinding(room.doc.getMap(key), holder, { writable, onLocalChange, onRemoteChange }))
    } else if (kind === 'checklist') {
      bindings.push(new ChecklistBinding(room.doc.getMap(key), holder, { writable, onLocalChange, onRemoteChange }))
    }
  }

  // ---- status -------------------------------------------------------------------------------
  const statusEl = document.querySelector('[data-worksheet-status]')
  const unsavedText = (n) => interpolate(n === 1 ? strings.unsavedOne : strings.unsavedMany, { count: n })
  let statusFrame = 0
  // The status line is no live region: while someone types it changes with every keystroke
  // ("1 unsaved edit", "All saved"), and a screen reader would read each change out. Only what the
  // student needs to hear is announced: trouble, and the way back from it.
  const TROUBLE = new Set(['offline', 'reconnecting', 'stuck', 'denied'])
  let heardState = null
  let inTrouble = false
  const renderStatus = () => {
    statusFrame = 0
    if (!statusEl) return
    const providers = Object.values(rooms).map(r => r.provider).filter(Boolean)
    const writable = providers.filter(p => p.writable)
    const unsaved = writable.reduce((sum, p) => sum + p.unsaved, 0)
    const has = (state) => providers.some(p => p.state === state)
    let state
    let text
    if (has('denied')) {
      state = 'denied'
      text = strings.denied
    } else if (has('offline')) {
      state = 'offline'
      text = unsaved ? `${strings.offline} — ${unsavedText(unsaved)}` : `${strings.offline} — ${strings.nothingUnsaved}`
    } else if (has('reconnecting')) {
      state = 'reconnecting'
      text = unsaved ? `${strings.reconnecting} ${unsavedText(unsaved)}` : strings.reconnecting
    } else if (writable.some(p => p.stuck)) {
      state = 'stuck'
      text = `${strings.notAccepted} ${unsavedText(unsaved)}`
    } else if (has('connecting') || providers.some(p => !p.synced)) {
      state = 'connecting'
      text = unsaved ? `${strings.connecting} ${unsavedText(unsaved)}` : strings.connecting
    } else if (!writable.length) {
      state = 'connected'
      text = strings.connectedReadOnly
    } else if (writable.every(p => p.allSaved)) {
      state = 'saved'
      text = strings.allSaved
    } else {
      state = 'connected'
      text = unsaved ? `${strings.connected} — ${unsavedText(unsaved)}` : strings.connected
    }
    if (TROUBLE.has(state)) {
      if (state !== heardState) announcer.say(text, { key: `status:${state}`, quietFor: 10000 })
      inTrouble = true
    } else if (inTrouble && (state === 'saved' || state === 'connected')) {
      announcer.say(text, { key: `status:${state}`, quietFor: 10000 }) // back, past "Connecting…"
      inTrouble = false
    }
    heardState = state
    statusEl.dataset.state = state
    statusEl.dataset.unsaved = String(unsaved)
    const label = statusEl.querySelector('[data-status-text]') || statusEl
    if (label.textContent !== text) label.textContent = text
    const retry = document.querySelector('[data-action="reconnect"]')
    if (retry) retry.hidden = !(state === 'reconnecting' || state === 'connecting')
  }
  const scheduleStatus = () => {
    if (!statusFrame) statusFrame = requestAnimationFrame(renderStatus)
  }
  // requestAnimationFrame pauses in background tabs; the status must still be right on return.
  setInterval(renderStatus, 1000)

  // ---- presence -----------------------------------------------------------------------------
  const shared = rooms.shared
  const resolve = (fieldId, json) => {
    if (!json) return null
    const docName = fieldId.split(':')[0]
    const room = rooms[docName]
    if (!room) return null
    try {
      const position = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(json), room.doc)
      if (!position) return null
      const target = textElements.get(position.type)
      if (!target || target.fieldId !== fieldId) return null
      return { element: target.element, index: position.index }
    } catch (e) {
      return null
    }
  }
  if (shared) {
    presence = new Presence({
      awareness: shared.awareness,
      config,
      fieldLabel: (fieldId) => fieldLabels.get(fieldId) || '',
      resolve,
      bar: document.querySelector('[data-presence]'),
      announcer,
      root,
      isConnected: () => Boolean(shared.provider && shared.provider.state === 'connected')
    })
  }

  const textFor = (element) => {
    for (const [ytext, target] of textElements) if (target.element === element) return ytext
    return null
  }
  const broadcastPosition = () => {
    if (!presence || me.role === 'teacher') return
    const active = document.activeElement
    const holder = active && root.contains(active) ? active.closest('[data-field-id]') : null
    if (!holder) {
      presence.setLocal({ field: null, cursor: null, typing: false })
      return
    }
    const fieldId = holder.dataset.fieldId
    let cursor = null
    const ytext = (active.tagName === 'TEXTAREA' || active.tagName === 'INPUT') && active.type !== 'radio' && active.type !== 'checkbox'
      ? textFor(active)
      : null
    if (ytext) {
      const start = active.selectionStart || 0
      const end = active.selectionEnd || 0
      const [anchor, head] = active.selectionDirection === 'backward' ? [end, start] : [start, end]
      cursor = {
        anchor: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, anchor)),
        head: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, head))
      }
    }
    presence.setLocal({ field: fieldId, cursor })
  }
  root.addEventListener('focusin', broadcastPosition)
  root.addEventListener('focusout', () => setTimeout(broadcastPosition, 0))
  root.addEventListener('input', broadcastPosition)
  root.addEventListener('keyup', broadcastPosition)
  root.addEventListener('mouseup', broadcastPosition)
  document.addEventListener('selectionchange', () => {
    if (document.activeElement && root.contains(document.activeElement)) broadcastPosition()
  })
  root.addEventListener('ws:remote-value', () => {
    broadcastPosition()
    if (presence) presence.schedule()
  })
  root.addEventListener('input', () => { if (presence) presence.schedule() })
  window.addEventListener('pagehide', () => { if (presence) presence.leave() })

  const visibleToggle = document.querySelector('[data-teacher-visible]')
  if (visibleToggle && presence) {
    visibleToggle.addEventListener('change', () => presence.setLocal({ visible: visibleToggle.checked }))
  }

  // ---- connect ------------------------------------------------------------------------------
  for (const room of Object.values(rooms)) {
    room.provider = new RoomProvider({
      url: socketUrl(room.info.path),
      doc: room.doc,
      awareness: room.awareness,
      writable: Boolean(room.info.writable),
      persistence: room.persistence,
      onChange: scheduleStatus
    })
  }
  renderStatus()
  const retry = document.querySelector('[data-action="reconnect"]')
  if (retry) retry.addEventListener('click', () => Object.values(rooms).forEach(r => r.provider.reconnect()))

  window.addEventListener('beforeunload', (event) => {
    // With IndexedDB the edits survive a reload; without it, warn before they are lost.
    const unsaved = Object.values(rooms).reduce((sum, r) => sum + (r.provider ? r.provider.unsaved : 0), 0)
    if (unsaved && !useIndexedDb) {
      event.preventDefault()
      event.returnValue = ''
    }
  })

  // ---- page controls ------------------------------------------------------------------------
  const authorsButton = document.querySelector('[data-action="toggle-authors"]')
  const legend = document.querySelector('[data-authors-legend]')
  if (legend) {
    for (const item of legend.querySelectorAll('[data-person-id]')) {
      const person = authors.get(item.dataset.personId)
      if (person) item.style.setProperty('--person-color', person.color)
    }
  }
  if (authorsButton) {
    authorsButton.hidden = false
    authorsButton.addEventListener('click', () => {
      const on = !showAuthors()
      root.classList.toggle('show-authors', on)
      authorsButton.setAttribute('aria-pressed', on ? 'true' : 'false')
      if (legend) legend.hidden = !on
      if (on) for (const view of authorship) view.render()
    })
  }

  for (const button of document.querySelectorAll('[data-pane-button]')) {
    button.addEventListener('click', () => {
      const pane = button.dataset.paneButton
      root.dataset.pane = pane
      for (const other of document.querySelectorAll('[data-pane-button]')) {
        other.setAttribute('aria-pressed', other === button ? 'true' : 'false')
      }
    })
  }

  // Sentence starters: one click puts the starter into the step's first text field.
  for (const starter of root.querySelectorAll('[data-starter]')) {
    starter.addEventListener('click', () => {
      const step = starter.closest('[data-step]')
      const holder = step && step.querySelector('[data-field-id]:not(.is-readonly)[data-kind$="_text"], [data-field-id]:not(.is-readonly)[data-kind="list"]')
      if (!holder) return
      let target = holder.querySelector('textarea:last-of-type, input[type="text"]')
      if (holder.dataset.kind === 'list') {
        const entries = holder.querySelectorAll('.entry textarea')
        target = entries.length ? entries[entries.length - 1] : null
        if (!target || target.value.trim()) {
          const add = holder.querySelector('[data-action="add-entry"]')
          if (add) add.click()
          const fresh = holder.querySelectorAll('.entry textarea')
          target = fresh.length ? fresh[fresh.length - 1] : null
        }
      }
      if (!target) return
      target.focus()
      const at = target.selectionEnd === null ? target.value.length : target.selectionEnd
      target.setRangeText(starter.dataset.starter.replace(/\.\.\.|…/g, '').trimEnd() + ' ', at, at, 'end')
      target.dispatchEvent(new Event('input', { bubbles: true }))
    })
  }

  window.havrutaWorksheet = { rooms, Y }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
else start()
