/* The teacher's live session page (classrooms/templates/classrooms/live.html).
 *
 * The page works without this file: the grid is rendered on the server and every control is a
 * form that posts and redirects. This script adds, on top of the same markup and forms:
 *   - the dashboard socket (/ws/classes/<id>/live/): rows of havrutot that changed arrive at most
 *     a few times a second (the server coalesces them) and replace their cards, re-sorted by need;
 *   - "Pop in" without leaving the page: the panel is fetched and swapped in beside the grid;
 *   - the forms sent with fetch (JSON back instead of a redirect), so the grid stays in place;
 *   - the timer counting down, "last edit … ago" kept fresh, and an optional quiet sound when a
 *     havruta asks for help.
 * Every string comes translated from the page (config.strings). No inline script, no network
 * call of its own beyond this page's socket and forms.
 */
(function () {
  'use strict'

  var configNode = document.getElementById('live-config')
  if (!configNode) return
  var config
  try {
    config = JSON.parse(configNode.textContent)
  } catch (e) {
    return
  }
  var S = config.strings || {}
  var grid = document.querySelector('[data-live-grid]')
  var panel = document.querySelector('[data-live-panel]')
  var layout = document.querySelector('[data-live-layout]')
  var announcer = document.querySelector('[data-live-announcer]')
  var connection = document.querySelector('[data-live-connection]')
  var rows = {} // havruta id -> last row
  var seenHelp = {} // help request ids already announced
  var offset = 0 // server clock minus ours, in ms
  var timer = config.timer || null
  var timerDeadline = null

  var L = window.havrutaLive // static/js/live_common.js
  var fmt = L.fmt
  var el = L.el

  // Paced: one message at a time, 3 s apart.
  var announce = L.announcer(announcer, 3000)

  function duration (seconds) {
    seconds = Math.max(0, Math.floor(seconds || 0))
    if (seconds < 60) return fmt(S.seconds, { count: seconds })
    if (seconds < 3600) return fmt(S.minutes, { count: Math.floor(seconds / 60) })
    return fmt(S.hours, { count: Math.floor(seconds / 3600) })
  }

  function csrfToken () {
    var input = document.querySelector('input[name=csrfmiddlewaretoken]')
    return input ? input.value : ''
  }

  // ---- the grid ----------------------------------------------------------------------------

  function idleNow (row) {
    if (!row.last_edit_at) return null
    return Math.max(0, (Date.now() + offset - Date.parse(row.last_edit_at)) / 1000)
  }

  function rankNow (row) {
    if (row.help) return 0
    var idle = idleNow(row)
    if (row.started && idle !== null && idle >= config.idleSeconds) return 1
    return row.started ? 3 : 2
  }

  function sortKey (row) {
    var rank = rankNow(row)
    if (rank === 0) return [0, row.help.since || '', row.number]
    if (rank === 1) return [1, -(idleNow(row) || 0), row.number]
    return [rank, 0, row.number]
  }

  function compare (a, b) {
    var ka = sortKey(a)
    var kb = sortKey(b)
    for (var i = 0; i < ka.length; i++) {
      if (ka[i] < kb[i]) return -1
      if (ka[i] > kb[i]) return 1
    }
    return 0
  }

  function badgeText (row, rank) {
    if (rank === 0) return S.needsHelp
    if (rank === 1) return fmt(S.idle, { time: duration(idleNow(row)) })
    if (rank === 2) return S.notStarted
    return S.working
  }

  function editText (row) {
    if (!row.last_edit_at) return S.noEdit
    return fmt(S.lastEdit, { time: duration(idleNow(row)) })
  }

  function renderCard (row) {
    var rank = rankNow(row)
    var li = el('li', 'live-card live-rank-' + rank + (row.help ? ' needs-help' : ''))
    li.dataset.havruta = row.havruta
    li.dataset.rank = rank
    var head = el('div', 'live-card-head')
    head.append(el('h3', 'live-card-title', fmt(S.havruta, { number: row.number })))
    var badge = el('span', 'live-badge', badgeText(row, rank))
    badge.dataset.badge = ''
    head.append(badge)
    li.append(head)

    var members = el('ul', 'live-members')
    members.setAttribute('role', 'list')
    row.members.forEach(function (member) {
      var item = el('li', 'live-member' + (member.online ? ' is-online' : ''))
      var dot = el('span', 'live-dot')
      dot.setAttribute('aria-hidden', 'true')
      item.append(dot, el('bdi', null, member.name), document.createTextNode(' '))
      item.append(el('span', 'visually-hidden', '(' + (member.online ? S.online : S.offline) + ')'))
      members.append(item)
    })
    li.append(members)
    // With no step yet, the badge already says "Not started" unless it shows something else.
    if (row.step || rank !== 2) li.append(el('p', 'live-step', row.step || S.notStarted))

    var progressBox = el('div', 'live-progress')
    var progress = document.createElement('progress')
    progress.max = row.total || 1
    progress.value = row.filled
    var counts = fmt(S.fields, { filled: row.filled, total: row.total })
    progress.setAttribute('aria-label', counts)
    progressBox.append(progress, el('span', 'live-counts', counts + ' · ' + fmt(S.words, { count: row.words })))
    li.append(progressBox)

    var edit = el('p', 'live-edit muted', editText(row))
    edit.dataset.lastEdit = row.last_edit_at || ''
    li.append(edit)

    if (row.help) li.append(helpBox(row))
    if (row.preview) {
      var quote = el('blockquote', 'live-preview', row.preview)
      quote.dir = 'auto'
      li.append(quote)
    }
    if (row.comments_open) {
      var comments = row.comments_open === 1 ? S.comment : fmt(S.comments, { count: row.comments_open })
      li.append(el('p', 'live-comment-count', comments))
    }
    if (row.worksheet) {
      var pop = el('a', 'button button-small live-pop-button', S.popIn)
      pop.href = '?pop=' + row.worksheet
      pop.dataset.pop = row.worksheet
      pop.append(el('span', 'visually-hidden', ' ' + fmt(S.havruta, { number: row.number })))
      li.append(pop)
    }
    return li
  }

  var soundToggle = document.querySelector('[data-sound-toggle]')
  var soundLabel = document.querySelector('[data-sound-toggle-label]')
  if (soundToggle && soundLabel) {
    soundLabel.hidden = false
    try { soundToggle.checked = window.localStorage.getItem('havruta-live-sound') === '1' } catch (e) {}
    soundToggle.addEventListener('change', function () {
      try { window.localStorage.setItem('havruta-live-sound', soundToggle.checked ? '1' : '0') } catch (e) {}
    })
  }

  function chime () {
    if (!soundToggle || !soundToggle.checked) return
    try {
      var Context = window.AudioContext || window.webkitAudioContext
      var ctx = new Context()
      var osc = ctx.createOscillator()
      var gain = ctx.createGain()
      osc.frequency.value = 660
      gain.gain.value = 0.04 // quiet: a classroom, not an alarm
      osc.connect(gain)
      gain.connect(ctx.destination)
      osc.start()
      osc.stop(ctx.currentTime + 0.18)
      osc.onended = function () { ctx.close() }
    } catch (e) {}
  }

  function helpBox (row) {
    var box = el('div', 'live-help-note')
    if (row.help.note) {
      var p = el('p')
      p.append(el('span', 'visually-hidden', S.noteLabel), document.createTextNode(' '))
      var q = el('q', null, row.help.note)
      q.dir = 'auto'
      p.append(q)
      box.append(p)
    }
    var form = el('form', 'inline-form')
    form.method = 'post'
    form.setAttribute('action', config.resolveUrl.replace('/help/0/', '/help/' + row.help.id + '/'))
    form.dataset.liveForm = ''
    var token = el('input')
    token.type = 'hidden'
    token.name = 'csrfmiddlewaretoken'
    token.value = csrfToken()
    var button = el('button', 'button-small', S.resolve)
    button.type = 'submit'
    button.append(el('span', 'visually-hidden', ' ' + fmt(S.havruta, { number: row.number })))
    form.append(token, button)
    box.append(form)
    return box
  }

  function updatePanelHelp (row) {
    // The pop-in was rendered once; keep its "asked for help" box in step with the grid.
    var pop = panel && panel.querySelector('[data-pop-panel]')
    if (!pop || !row.worksheets.some(function (w) { return String(w.id) === pop.dataset.worksheet })) return
    var current = pop.querySelector('[data-pop-help]')
    if (current) current.remove()
    if (!row.help) return
    var box = helpBox(row)
    box.className = 'live-pop-help message message-warning'
    box.dataset.popHelp = ''
    box.prepend(el('p', null, S.panelHelp))
    var frame = pop.querySelector('[data-pop-frame]')
    if (frame) frame.before(box)
  }

  function updatePanelComments (row) {
    // The havruta marks a comment done in its worksheet; the open pop-in shows it at once.
    var pop = panel && panel.querySelector('[data-pop-panel]')
    if (!pop || !row.worksheets.some(function (w) { return String(w.id) === pop.dataset.worksheet })) return
    var open = (row.comments_open_ids || []).map(String)
    pop.querySelectorAll('[data-comment]').forEach(function (item) {
      if (item.classList.contains('is-done') || open.indexOf(item.dataset.comment) !== -1) return
      item.classList.add('is-done')
      var state = item.querySelector('.live-comment-state')
      if (state) state.textContent = S.commentDone
      announce(fmt(S.commentMarkedDone, { number: row.number }))
    })
  }

  function applyRows (list, initial) {
    list.forEach(function (row) {
      rows[row.havruta] = row
      updatePanelHelp(row)
      updatePanelComments(row)
      if (row.help && !seenHelp[row.help.id]) {
        seenHelp[row.help.id] = true
        if (!initial) {
          announce(fmt(S.newHelp, { number: row.number }))
          chime()
        }
      }
    })
    if (!grid) return
    var focused = document.activeElement
    var focusedCard = focused && focused.closest ? focused.closest('[data-havruta]') : null
    var keepFocus = focusedCard && list.some(function (r) { return String(r.havruta) === focusedCard.dataset.havruta })
    list.forEach(function (row) {
      var old = grid.querySelector('[data-havruta="' + row.havruta + '"]')
      var card = renderCard(row)
      if (old) old.replaceWith(card)
      else grid.append(card)
    })
    resort()
    if (keepFocus) {
      var again = grid.querySelector('[data-havruta="' + focusedCard.dataset.havruta + '"] .live-pop-button')
      if (again) again.focus()
    }
  }

  function resort () {
    if (!grid) return
    var ordered = Object.keys(rows).map(function (id) { return rows[id] }).sort(compare)
    ordered.forEach(function (row) {
      var card = grid.querySelector('[data-havruta="' + row.havruta + '"]')
      if (card && grid.lastElementChild !== card) grid.append(card)
    })
  }

  function refreshTimes () {
    if (!grid) return
    Object.keys(rows).forEach(function (id) {
      var row = rows[id]
      var card = grid.querySelector('[data-havruta="' + id + '"]')
      if (!card) return
      var rank = rankNow(row)
      if (String(rank) !== card.dataset.rank) {
        card.replaceWith(renderCard(row))
        return
      }
      var edit = card.querySelector('.live-edit')
      if (edit) edit.textContent = editText(row)
      var badge = card.querySelector('[data-badge]')
      if (badge) badge.textContent = badgeText(row, rank)
    })
    resort()
  }

  // ---- the timer and the end --------------------------------------------------------------

  var timerClock = document.querySelector('[data-timer-clock]')
  var timerStep = document.querySelector('[data-timer-step]')

  var steps = config.steps || []

  function setTimer (next) {
    timer = next
    timerDeadline = timer && timer.state === 'running' ? Date.now() + timer.remaining * 1000 : null
    if (timer && timer.step) {
      var info = steps[timer.step.index]
      if (timerStep) timerStep.textContent = info ? info.label : timer.step.title
      var following = steps[timer.step.index + 1]
      var nextButton = document.querySelector('.live-timer-form button[value=next]')
      if (nextButton) {
        nextButton.textContent = following ? fmt(S.nextStep, { title: following.title }) : S.lastStep
        nextButton.disabled = !following
        nextButton.dataset.last = following ? '0' : '1'
      }
      var startButton = document.querySelector('.live-timer-form button[value=start]')
      if (startButton) startButton.textContent = S.startStep
    }
    timerButtons()
    drawTimer()
  }

  // Pause only a running timer and resume only a paused one: the other button is there but off.
  function timerButtons () {
    var pause = document.querySelector('.live-timer-form button[value=pause]')
    var resume = document.querySelector('.live-timer-form button[value=resume]')
    if (pause) pause.disabled = !timer || timer.state !== 'running'
    if (resume) resume.disabled = !timer || timer.state !== 'paused'
  }

  function drawTimer () {
    if (!timerClock) return
    timerClock.dataset.state = timer ? timer.state : 'none'
    timerClock.textContent = L.timerText(timer, timerDeadline, S)
  }

  function showEnded (state) {
    var box = document.querySelector('[data-live-ended]')
    if (!box || !state.ended) return
    if (box.hidden) {
      box.textContent = S.ended + ' '
      var link = el('a', null, S.summary)
      link.href = state.summary_url
      box.append(link)
      box.hidden = false
      announce(S.ended)
    }
    var controls = document.querySelector('.live-controls')
    if (controls) controls.hidden = true
  }

  function applySession (state) {
    if (!state) return
    setTimer(state.timer)
    showEnded(state)
  }

  // ---- the socket ---------------------------------------------------------------------------

  var socket = null
  var backoff = 1000

  function setConnection (state, text) {
    if (!connection) return
    connection.dataset.state = state
    connection.textContent = text
  }

  function reloadForNewGrouping () {
    // The havrutot, the session or the assignments changed (perhaps in another tab). Reload at
    // once unless the teacher is in the middle of writing something; then ask first.
    var writing = Array.prototype.some.call(document.querySelectorAll('textarea, input[type=text]'), function (field) {
      return field.value.trim() !== ''
    })
    if (!writing) {
      window.location.reload()
      return
    }
    if (document.querySelector('[data-regrouped]')) return
    var box = el('div', 'message message-info')
    box.dataset.regrouped = ''
    box.setAttribute('role', 'status')
    box.append(el('span', null, S.regrouped), document.createTextNode(' '))
    var button = el('button', 'button button-small', S.reload)
    button.type = 'button'
    button.addEventListener('click', function () { window.location.reload() })
    box.append(button)
    var main = document.querySelector('main') || document.body
    main.prepend(box)
  }

  function connect () {
    var scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
    socket = new WebSocket(scheme + '//' + window.location.host + config.socket)
    socket.addEventListener('open', function () {
      backoff = 1000
      setConnection('live', S.live)
    })
    socket.addEventListener('message', function (event) {
      var message
      try { message = JSON.parse(event.data) } catch (e) { return }
      if (message.now) offset = Date.parse(message.now) - Date.now()
      if (message.type === 'regrouped') {
        reloadForNewGrouping()
        return
      }
      if (message.type === 'snapshot' || message.type === 'update') {
        if (message.rows) applyRows(message.rows, message.type === 'snapshot')
        if (message.session) applySession(message.session)
      }
    })
    socket.addEventListener('close', function (event) {
      socket = null
      if (event.code === 4403) {
        setConnection('denied', S.error)
        return
      }
      setConnection('reconnecting', S.reconnecting)
      window.setTimeout(connect, backoff)
      backoff = Math.min(backoff * 2, 10000)
    })
  }

  // ---- forms sent with fetch ---------------------------------------------------------------

  function showErrors (form, errors) {
    var box = form.querySelector('[data-form-errors]')
    if (!box) {
      box = el('ul', 'errorlist')
      box.dataset.formErrors = ''
      box.setAttribute('role', 'alert')
      form.prepend(box)
    }
    box.textContent = ''
    ;(errors || [S.error]).forEach(function (text) { box.append(el('li', null, text)) })
  }

  function clearErrors (form) {
    var box = form.querySelector('[data-form-errors]')
    if (box) box.remove()
  }

  function addPanelComment (form, id) {
    var list = document.querySelector('[data-pop-comments]')
    if (!list) return
    var empty = list.querySelector('[data-no-comments]')
    if (empty) empty.remove()
    var select = form.querySelector('select[name=field]')
    var text = form.querySelector('[name=text]')
    var item = el('li')
    if (id) item.dataset.comment = String(id)
    item.append(el('span', 'muted', (select ? select.options[select.selectedIndex].text : '') + ':'), document.createTextNode(' '))
    var span = el('span', null, text ? text.value : '')
    span.dir = 'auto'
    item.append(span, document.createTextNode(' '), el('span', 'live-comment-state', S.commentOpen))
    list.prepend(item)
  }

  document.addEventListener('submit', function (event) {
    var form = event.target
    if (!form.matches || !form.matches('[data-live-form]')) return
    event.preventDefault()
    var data = new FormData(form)
    if (event.submitter && event.submitter.name) data.append(event.submitter.name, event.submitter.value)
    var buttons = form.querySelectorAll('button')
    buttons.forEach(function (b) { b.disabled = true })
    // getAttribute: a form with a control named "action" (the timer's buttons) shadows form.action.
    fetch(form.getAttribute('action'), {
      method: 'POST',
      body: data,
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'X-CSRFToken': csrfToken() }
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false } })
    }).then(function (result) {
      if (!result.ok) {
        showErrors(form, result.errors)
        return
      }
      clearErrors(form)
      announce(result.message)
      if (form.matches('[data-comment-form]')) {
        addPanelComment(form, result.id)
        form.querySelector('[name=text]').value = ''
      }
      if (form.matches('[data-broadcast-form]')) form.querySelector('[name=message]').value = ''
    }).catch(function () {
      showErrors(form, [S.error])
    }).then(function () {
      buttons.forEach(function (b) {
        b.disabled = b.value === 'next' && b.dataset.last === '1'
      })
      timerButtons()
    })
  })

  // ---- pop in ---------------------------------------------------------------------------------

  function listenChoice () {
    try { return window.localStorage.getItem('havruta-live-listen') || 'visible' } catch (e) { return 'visible' }
  }

  function openPanel (worksheet) {
    if (!panel) return
    var url = config.panelUrl.replace('/worksheets/0/', '/worksheets/' + worksheet + '/') + '?listen=' + listenChoice()
    fetch(url, { credentials: 'same-origin' }).then(function (response) {
      if (!response.ok) throw new Error('panel')
      return response.text()
    }).then(function (html) {
      panel.innerHTML = html // our own server-rendered, escaped template
      if (layout) layout.classList.add('has-panel')
      var params = new URLSearchParams(window.location.search)
      params.set('pop', worksheet)
      params.set('listen', listenChoice())
      window.history.replaceState(null, '', '?' + params.toString())
      var heading = panel.querySelector('h2')
      if (heading) {
        heading.tabIndex = -1
        heading.focus()
      }
    }).catch(function () {
      window.location.href = '?pop=' + worksheet
    })
  }

  function closePanel () {
    if (!panel) return
    var frame = panel.querySelector('[data-pop-frame]')
    if (frame) frame.src = 'about:blank' // leave the room: the havruta stops seeing us
    panel.textContent = ''
    if (layout) layout.classList.remove('has-panel')
    window.history.replaceState(null, '', window.location.pathname)
  }

  document.addEventListener('click', function (event) {
    var target = event.target.closest ? event.target.closest('[data-pop], [data-pop-close]') : null
    if (!target || event.ctrlKey || event.metaKey || event.shiftKey) return
    event.preventDefault()
    if (target.hasAttribute('data-pop-close')) closePanel()
    else openPanel(target.dataset.pop)
  })

  document.addEventListener('submit', function (event) {
    var form = event.target
    if (!form.matches || !form.matches('[data-listen-form]')) return
    event.preventDefault()
    var chosen = form.querySelector('input[name=listen]:checked')
    var value = chosen ? chosen.value : 'visible'
    try { window.localStorage.setItem('havruta-live-listen', value) } catch (e) {}
    var frame = document.querySelector('[data-pop-frame]')
    if (frame) {
      var src = new URL(frame.getAttribute('src'), window.location.href)
      src.searchParams.set('listen', value)
      frame.src = src.pathname + src.search
    }
    var hidden = document.querySelector('[data-comment-form] input[name=listen]')
    if (hidden) hidden.value = value
    var params = new URLSearchParams(window.location.search)
    params.set('listen', value)
    window.history.replaceState(null, '', '?' + params.toString())
  }, true)

  // ---- start --------------------------------------------------------------------------------

  var lastButton = document.querySelector('.live-timer-form button[value=next]')
  if (lastButton && lastButton.disabled) lastButton.dataset.last = '1'
  var params = new URLSearchParams(window.location.search)
  if (params.get('listen')) {
    try { window.localStorage.setItem('havruta-live-listen', params.get('listen')) } catch (e) {}
  }
  setTimer(timer)
  if (config.session) connect()
  window.setInterval(drawTimer, 1000)
  window.setInterval(refreshTimes, 15000)
})()
