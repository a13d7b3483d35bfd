// One websocket room (one Y.Doc) spoken in the standard y-protocols messages.
//
// Written here instead of using y-websocket's provider so the page controls what it shows:
// connection state, "N unsaved edits" (from the server's state vector, which only covers
// persisted updates), backoff, periodic resync, and the browser's offline events (Chromium
// keeps websockets open when the network is "offline", so we close them ourselves).

import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'
import { mergeRanges, rangeCovered } from './diff.js'

export const messageSync = 0
export const messageAwareness = 1
export const messageQueryAwareness = 3

const SYNC_AFTER_EDIT_MS = 500
const RESYNC_EVERY_MS = 15000
const RETRY_UNSAVED_MS = 1500
const BACKOFF_MIN_MS = 500
const BACKOFF_MAX_MS = 10000
const MAX_PENDING = 2000
const STUCK_AFTER_MS = 20000

/** Close codes after which reconnecting cannot help. */
const FINAL_CLOSE_CODES = new Set([4401, 4403, 4404])

/**
 * @typedef {'connecting'|'connected'|'reconnecting'|'offline'|'denied'} ConnectionState
 */

export class RoomProvider {
  /**
   * @param {object} options
   * @param {string} options.url websocket URL of the room
   * @param {Y.Doc} options.doc
   * @param {awarenessProtocol.Awareness} options.awareness
   * @param {boolean} options.writable
   * @param {any} [options.persistence] IndexeddbPersistence (writable rooms only)
   * @param {() => void} [options.onChange] called when state or unsaved count change
   */
  constructor ({ url, doc, awareness, writable, persistence, onChange }) {
    this.url = url
    this.doc = doc
    this.awareness = awareness
    this.writable = writable
    this.persistence = persistence || null
    this.onChange = onChange || (() => {})
    /** @type {ConnectionState} */
    this.state = 'connecting'
    this.everConnected = false
    this.synced = false // got the server's SyncStep2 on this connection
    this.closeCode = null
    /** @type {WebSocket|null} */
    this.ws = null
    this.attempts = 0
    this.destroyed = false
    /** Server state vector (persisted updates only) and delete set, as last reported. */
    this.serverSV = null
    this.lastServerSV = 0
    this.serverDs = new Map()
    /** Local edits not yet known to be persisted: {c: client, k: clock after, d: [[client, clock, len]]} */
    this.pending = []
    this.untrackedUnsaved = false
    this._timers = { retry: null, syncSoon: null, resync: null, storePending: null }

    this._onUpdate = (update, origin, _doc, tr) => {
      if (origin === this) return
      if (!this.writable) return
      if (tr && tr.local && origin !== this.persistence) this._recordPending(tr)
      this._send(enc => {
        encoding.writeVarUint(enc, messageSync)
        syncProtocol.writeUpdate(enc, update)
      })
      this._syncSoon()
    }
    doc.on('update', this._onUpdate)

    this._onAwareness = ({ added, updated, removed }, origin) => {
      if (origin !== 'local') return
      const changed = added.concat(updated, removed)
      this._send(enc => {
        encoding.writeVarUint(enc, messageAwareness)
        encoding.writeVarUint8Array(enc, awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed))
      })
    }
    awareness.on('update', this._onAwareness)

    this._onOnline = () => {
      if (this.state === 'offline' || this.state === 'reconnecting') {
        this.attempts = 0
        this._connect()
      }
    }
    this._onOffline = () => {
      if (this.ws) {
        const ws = this.ws
        this._detach()
        try { ws.close() } catch (e) { /* already closing */ }
      }
      clearTimeout(this._timers.retry)
      this._setState('offline')
    }
    window.addEventListener('online', this._onOnline)
    window.addEventListener('offline', this._onOffline)

    if (this.persistence) {
      this.persistence.whenSynced.then(() => this.persistence.get('pending')).then(saved => {
        if (typeof saved === 'string') {
          try {
            const restored = JSON.parse(saved)
            if (Array.isArray(restored)) {
              const now = Date.now()
              this.pending = restored.map(entry => ({ ...entry, t: now })).concat(this.pending).slice(-MAX_PENDING)
            }
          } catch (e) { /* a damaged list only costs the count */ }
        }
        this._checkSaved()
      }).catch(() => {})
    }
    this._connect()
  }

  // ---- connection ---------------------------------------------------------------------------

  _connect () {
    if (this.destroyed || this.state === 'denied') return
    clearTimeout(this._timers.retry)
    if (typeof navigator !== 'undefined' && navigator.onLine === false) {
      this._setState('offline')
      return
    }
    if (this.ws) return
    this._setState(this.everConnected ? 'reconnecting' : 'connecting')
    let ws
    try {
      ws = new WebSocket(this.url)
    } catch (e) {
      this._scheduleRetry()
      return
    }
    ws.binaryType = 'arraybuffer'
    this.ws = ws
    this.synced = false
    ws.onopen = () => {
      if (this.ws !== ws) return
      // Backoff is reset only once the server has synced (below), not on open: a server that
      // accepts and then closes at once (database down: 1013/4013) must not be retried in a loop.
      this.everConnected = true
      this._setState('connected')
      this._sendSyncStep1()
      if (this.awareness.getLocalState() !== null) {
        this._send(enc => {
          encoding.writeVarUint(enc, messageAwareness)
          encoding.writeVarUint8Array(enc, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.doc.clientID]))
        })
      }
      clearInterval(this._timers.resync)
      this._timers.resync = setInterval(() => this._sendSyncStep1(), RESYNC_EVERY_MS)
    }
    ws.onmessage = (event) => {
      if (this.ws !== ws) return
      try {
        this._receive(new Uint8Array(event.data))
      } catch (error) {
        console.error('worksheet: could not read a message', error)
      }
    }
    ws.onclose = (event) => {
      if (this.ws !== ws) return
      this._detach()
      this.closeCode = event.code
      if (FINAL_CLOSE_CODES.has(event.code)) {
        this._setState('denied')
        return
      }
      this._scheduleRetry()
    }
    ws.onerror = () => { /* onclose follows */ }
  }

  _detach () {
    const ws = this.ws
    this.ws = null
    this.synced = false
    clearInterval(this._timers.resync)
    clearTimeout(this._timers.syncSoon)
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null
    }
    // Partners seen through this room are no longer known to be here.
    const others = Array.from(this.awareness.getStates().keys()).filter(id => id !== this.doc.clientID)
    if (others.length) awarenessProtocol.removeAwarenessStates(this.awareness, others, this)
  }

  _scheduleRetry () {
    if (this.destroyed) return
    if (typeof navigator !== 'undefined' && navigator.onLine === false) {
      this._setState('offline')
      return
    }
    this._setState(this.everConnected ? 'reconnecting' : 'connecting')
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, this.attempts))
    this.attempts++
    const delay = base / 2 + Math.random() * base / 2
    clearTimeout(this._timers.retry)
    this._timers.retry = setTimeout(() => this._connect(), delay)
  }

  /** Reconnect at once (after a close the user wants to retry, or in tests). */
  reconnect () {
    this.attempts = 0
    if (this.ws) {
      const ws = this.ws
      this._detach()
      try { ws.close() } catch (e) { /* closing anyway */ }
    }
    this._connect()
  }

  _setState (state) {
    if (this.state === state) return
    this.state = state
    this.onChange()
  }

  _send (write) {
    const ws = this.ws
    if (!ws || ws.readyState !== WebSocket.OPEN) return false
    const encoder = encoding.createEncoder()
    write(encoder)
    ws.send(encoding.toUint8Array(encoder))
    return true
  }

  _sendSyncStep1 () {
    this._send(enc => {
      encoding.writeVarUint(enc, messageSync)
      syncProtocol.writeSyncStep1(enc, this.doc)
    })
  }

  _syncSoon (delay = SYNC_AFTER_EDIT_MS) {
    clearTimeout(this._timers.syncSoon)
    this._timers.syncSoon = setTimeout(() => this._sendSyncStep1(), delay)
  }

  // ---- receiving ----------------------------------------------------------------------------

  _receive (data) {
    const decoder = decoding.createDecoder(data)
    const type = decoding.readVarUint(decoder)
    if (type === messageSync) {
      const syncType = decoding.readVarUint(decoder)
      if (syncType === syncProtocol.messageYjsSyncStep1) {
        const sv = decoding.readVarUint8Array(decoder)
        this.serverSV = Y.decodeStateVector(sv)
        this.lastServerSV = Date.now()
        // Answer with what the server lacks: this is how offline edits reach it.
        if (this.writable) {
          this._send(enc => {
            encoding.writeVarUint(enc, messageSync)
            encoding.writeVarUint(enc, syncProtocol.messageYjsSyncStep2)
            encoding.writeVarUint8Array(enc, Y.encodeStateAsUpdate(this.doc, sv))
          })
        }
        this._checkSaved()
      } else if (syncType === syncProtocol.messageYjsSyncStep2) {
        const update = decoding.readVarUint8Array(decoder)
        this._rememberServerDeletes(update)
        Y.applyUpdate(this.doc, update, this)
        if (!this.synced) {
          this.synced = true
          this.attempts = 0
          this.onChange()
        }
      } else if (syncType === syncProtocol.messageYjsUpdate) {
        Y.applyUpdate(this.doc, decoding.readVarUint8Array(decoder), this)
      }
    } else if (type === messageAwareness) {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), this)
    } else if (type === messageQueryAwareness) {
      this._send(enc => {
        encoding.writeVarUint(enc, messageAwareness)
        encoding.writeVarUint8Array(enc, awarenessProtocol.encodeAwarenessUpdate(
          this.awareness, Array.from(this.awareness.getStates().keys())))
      })
    }
  }

  _rememberServerDeletes (update) {
    try {
      const { ds } = Y.decodeUpdate(update)
      const merged = new Map()
      ds.clients.forEach((items, client) => {
        merged.set(client, mergeRanges(items.map(item => [item.clock, item.len])))
      })
      this.serverDs = merged
    } catch (e) { /* keep the previous view */ }
  }

  // ---- saved / unsaved ----------------------------------------------------------------------

  _recordPending (tr) {
    const deletes = []
    tr.deleteSet.clients.forEach((items, client) => {
      for (const item of items) deletes.push([client, item.clock, item.len])
    })
    const entry = { c: this.doc.clientID, k: Y.getState(this.doc.store, this.doc.clientID), d: deletes, t: Date.now() }
    this.pending.push(entry)
    if (this.pending.length > MAX_PENDING) {
      // Keep the count bounded: fold the oldest two into one (the newer clock covers both).
      const [a, b] = this.pending.splice(0, 2)
      this.pending.unshift({ c: b.c, k: b.c === a.c ? Math.max(a.k, b.k) : b.k, d: a.d.concat(b.d) })
    }
    this._storePendingSoon()
    this.onChange()
  }

  _isSaved (entry) {
    if (!this.serverSV) return false
    if ((this.serverSV.get(entry.c) || 0) < entry.k) return false
    return entry.d.every(([client, clock, len]) => {
      // Deleting something the server never had is saved once the insert is.
      const known = Math.min(clock + len, this.serverSV.get(client) || 0) - clock
      return known <= 0 || rangeCovered(this.serverDs.get(client) || [], clock, known)
    })
  }

  _checkSaved () {
    if (!this.writable) return
    const before = this.pending.length
    if (this.serverSV) this.pending = this.pending.filter(entry => !this._isSaved(entry))
    this.untrackedUnsaved = this.serverSV ? this._hasUnsavedInserts() : false
    if (this.pending.length !== before) this._storePendingSoon()
    if ((this.pending.length || this.untrackedUnsaved) && this.state === 'connected') {
      // The server persists asynchronously; ask again shortly rather than in 15 s.
      this._syncSoon(RETRY_UNSAVED_MS)
    }
    this.onChange()
  }

  /** Anything in the local doc the server lacks (e.g. edits from before a reload). */
  _hasUnsavedInserts () {
    const local = Y.decodeStateVector(Y.encodeStateVector(this.doc))
    for (const [client, clock] of local) {
      if (clock > (this.serverSV.get(client) || 0)) return true
    }
    return false
  }

  _storePendingSoon () {
    if (!this.persistence) return
    clearTimeout(this._timers.storePending)
    this._timers.storePending = setTimeout(() => {
      this.persistence.set('pending', JSON.stringify(this.pending)).catch(() => {})
    }, 200)
  }

  /** Edits made here that the server has not confirmed as stored. */
  get unsaved () {
    if (!this.writable) return 0
    return Math.max(this.pending.length, this.untrackedUnsaved ? 1 : 0)
  }

  /**
   * Connected and answering, yet our edits stay unconfirmed: the server is discarding them (the
   * worksheet was closed or access became read-only while the page was open).
   */
  get stuck () {
    if (!this.writable || this.state !== 'connected' || !this.synced || !this.pending.length) return false
    const oldest = this.pending[0].t || Date.now()
    return this.lastServerSV - oldest > STUCK_AFTER_MS
  }

  /** True once the server has confirmed everything this browser holds. */
  get allSaved () {
    return this.writable && this.serverSV !== null && this.unsaved === 0
  }

  destroy () {
    this.destroyed = true
    clearTimeout(this._timers.retry)
    clearTimeout(this._timers.syncSoon)
    clearInterval(this._timers.resync)
    window.removeEventListener('online', this._onOnline)
    window.removeEventListener('offline', this._onOffline)
    this.doc.off('update', this._onUpdate)
    this.awareness.off('update', this._onAwareness)
    if (this.ws) {
      const ws = this.ws
      this._detach()
      ws.close()
    }
  }
}
