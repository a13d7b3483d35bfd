/* Class events on a worksheet page (classrooms/templates/classrooms/_live_worksheet.html).
 *
 * The worksheet's Yjs sockets (worksheet.bundle.js) stay as they are; this script opens one more,
 * JSON socket (/ws/worksheets/<id>/events/) for what the teacher does during the lesson:
 *   server -> page: state (everything, on every connect), broadcast, timer, comment, comment_done,
 *                   help_state, session_ended (a student's page then goes to their reflection);
 *   page -> server: ask_help {note}, cancel_help, comment_done {id}, ping.
 * The page works without it: the same forms post and redirect, and a reload shows everything.
 * Text from people is always set with textContent, never as HTML.
 */
(function () {
  'use strict'

  var configNode = document.getElementById('live-events-config')
  var root = document.querySelector('[data-live-notes]')
  if (!configNode || !root) return
  var config
  try {
    config = JSON.parse(configNode.textContent)
  } catch (e) {
    return
  }
  var S = config.strings || {}
  var isStudent = config.role === 'student'
  var banners = root.querySelector('[data-live-banners]')
  var history = root.querySelector('[data-live-history]')
  var historyList = root.querySelector('[data-live-history-list]')
  var timerLine = root.querySelector('[data-live-timer]')
  var timerStep = root.querySelector('[data-live-step]')
  var timerClock = root.querySelector('[data-live-clock]')
  var commentsBox = root.querySelector('[data-live-comments]')
  var helpForm = root.querySelector('[data-live-help]')
  var announcer = root.querySelector('[data-live-announcer]')
  var timer = null
  var deadline = null
  var comments = {} // id -> comment

  var L = window.havrutaLive // static/js/live_common.js
  var fmt = L.fmt
  var el = L.el

  // An English title inside a Hebrew sentence keeps its punctuation with it (Unicode isolates).
  function isolate (text) {
    return text && document.documentElement.dir === 'rtl' ? '\u2068' + text + '\u2069' : text
  }

  // Paced: one message at a time, 3 s apart.
  var announce = L.announcer(announcer, 3000)

  function csrfToken () {
    var input = document.querySelector('input[name=csrfmiddlewaretoken]')
    return input ? input.value : ''
  }

  // ---- broadcasts ---------------------------------------------------------------------------

  function linkTo (href) {
    var a = el('a', null, S.openLink)
    a.href = href
    a.target = '_blank'
    a.rel = 'noopener'
    return a
  }

  function bannerNode (broadcast) {
    var p = el('p', 'live-banner')
    p.dataset.broadcast = broadcast.id
    p.append(el('strong', null, S.fromTeacher || ''), document.createTextNode(' '))
    var text = el('span', null, broadcast.message)
    text.dir = 'auto'
    p.append(text)
    if (broadcast.link) p.append(document.createTextNode(' '), linkTo(broadcast.link))
    return p
  }

  function historyNode (broadcast) {
    var li = el('li')
    li.dataset.broadcast = broadcast.id
    var text = el('span', null, broadcast.message)
    text.dir = 'auto'
    li.append(text)
    if (broadcast.link) li.append(document.createTextNode(' '), linkTo(broadcast.link))
    return li
  }

  function showBroadcasts (list) {
    if (!banners) return
    banners.textContent = ''
    if (historyList) historyList.textContent = ''
    list.forEach(function (broadcast, i) {
      if (i === 0) banners.append(bannerNode(broadcast))
      else if (historyList) historyList.append(historyNode(broadcast))
    })
    if (history) history.hidden = list.length < 2
  }

  function addBroadcast (broadcast) {
    if (!banners || root.querySelector('[data-broadcast="' + broadcast.id + '"]')) return
    var current = banners.querySelector('[data-broadcast]')
    if (current && historyList) {
      var old = {
        id: current.dataset.broadcast,
        message: current.querySelector('span').textContent,
        link: (current.querySelector('a') || {}).href || ''
      }
      historyList.prepend(historyNode(old))
      if (history) history.hidden = false
    }
    banners.textContent = ''
    banners.append(bannerNode(broadcast))
    announce(fmt(S.newBroadcast, { message: broadcast.message }))
  }

  // ---- the step timer -----------------------------------------------------------------------

  function setTimer (next, label) {
    timer = next
    deadline = timer && timer.state === 'running' ? Date.now() + timer.remaining * 1000 : null
    if (!timerLine) return
    timerLine.hidden = !timer
    if (timerStep && label !== undefined) timerStep.textContent = label
    drawTimer()
  }

  function drawTimer () {
    if (!timerClock) return
    timerClock.dataset.state = timer ? timer.state : 'none'
    timerClock.textContent = L.timerText(timer, deadline, S)
    if (timer && timer.state === 'running') {
      var up = deadline <= Date.now()
      if (up && timerClock.dataset.up !== '1') announce(S.timeUp) // once, when it runs out
      timerClock.dataset.up = up ? '1' : '0'
    }
  }

  function labelFor (next) {
    // "Step 2 of 5: …" when the step belongs to this worksheet's protocol, like the server renders it.
    if (!next || !next.step) return ''
    var node = document.querySelector('[data-step="' + (window.CSS && CSS.escape ? CSS.escape(next.step.key) : next.step.key) + '"]')
    if (node && next.step.assignment === config.assignment) {
      var all = Array.prototype.slice.call(document.querySelectorAll('.worksheet-steps > [data-step]'))
      var number = all.indexOf(node) + 1
      if (number > 0) return fmt(S.stepOf, { number: number, count: all.length, title: isolate(next.step.title) })
    }
    return next.step.title
  }

  // ---- comments pinned to questions -------------------------------------------------------

  function fieldBox (fieldId) {
    var boxes = document.querySelectorAll('[data-field-id]')
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].dataset.fieldId === fieldId) return boxes[i]
    }
    return null
  }

  function removeComment (id) {
    delete comments[id]
    document.querySelectorAll('[data-comment="' + id + '"], [data-pin="' + id + '"]').forEach(function (node) {
      node.remove()
    })
  }

  function addComment (comment) {
    if (comment.done) {
      removeComment(comment.id)
      return
    }
    if (comments[comment.id]) return
    comments[comment.id] = comment
    if (commentsBox) {
      var box = el('div', 'live-comment')
      box.dataset.comment = comment.id
      box.dataset.fieldRef = comment.field
      var p = el('p')
      p.append(el('strong', null, fmt(S.commentOn, { field: comment.field_label })), document.createTextNode(' '))
      var text = el('span', null, comment.text)
      text.dir = 'auto'
      p.append(text)
      box.append(p)
      if (isStudent) {
        var form = el('form', 'inline-form')
        form.method = 'post'
        form.setAttribute('action', config.commentDoneUrl.replace('/comments/0/', '/comments/' + comment.id + '/'))
        form.dataset.commentDoneForm = ''
        var token = el('input')
        token.type = 'hidden'
        token.name = 'csrfmiddlewaretoken'
        token.value = csrfToken()
        var button = el('button', 'button-small', S.markDone)
        button.type = 'submit'
        form.append(token, button)
        box.append(form)
      }
      commentsBox.append(box)
    }
    pin(comment)
  }

  function pin (comment) {
    var target = fieldBox(comment.field)
    if (!target || target.querySelector('[data-pin="' + comment.id + '"]')) return
    var note = el('p', 'live-pin')
    note.dataset.pin = comment.id
    note.append(el('strong', null, S.teacherSays || ''), document.createTextNode(' '))
    var text = el('span', null, comment.text)
    text.dir = 'auto'
    note.append(text)
    var head = target.querySelector('.ws-field-head, legend')
    if (head && head.parentNode === target) head.after(note)
    else target.prepend(note)
  }

  function showComments (list) {
    Object.keys(comments).forEach(removeComment)
    if (commentsBox) {
      commentsBox.querySelectorAll('[data-comment]').forEach(function (node) { node.remove() })
    }
    list.forEach(addComment)
  }

  // ---- help ---------------------------------------------------------------------------------

  function showHelp (state) {
    if (!helpForm) return
    var open = helpForm.querySelector('[data-help-open]')
    var ask = helpForm.querySelector('[data-help-ask]')
    var status = helpForm.querySelector('[data-help-status]')
    var wasOpen = open && !open.hidden
    if (open) open.hidden = !state.open
    if (ask) ask.hidden = !!state.open
    if (status && state.open) {
      status.textContent = S.helpAsked + (state.note ? ' ' + fmt(S.helpNote, { note: state.note }) : '')
    }
    if (wasOpen && !state.open) announce(S.helpResolved)
  }

  // ---- the end of the learning time --------------------------------------------------------

  var ended = false

  function sessionEnded (url) {
    if (ended) return
    ended = true
    var notice = el('p', 'live-ended message message-success', isStudent ? S.ended : S.endedTeacher)
    notice.setAttribute('role', 'status')
    root.prepend(notice)
    if (helpForm) helpForm.hidden = true
    if (isStudent && url) {
      // A moment to read the notice; the worksheet is already read-only on the server.
      window.setTimeout(function () { window.location.assign(url) }, 1200)
    }
  }

  // ---- the socket ---------------------------------------------------------------------------

  var socket = null
  var backoff = 1000

  function applyState (state) {
    showBroadcasts(state.broadcasts || [])
    setTimer(state.timer, labelFor(state.timer) || state.stepLabel || '')
    showComments(state.comments || [])
    showHelp(state.help || { open: false })
    // Ended before this page opened (a student reading an old worksheet): the server already says
    // so on the page, and nobody is sent anywhere; only the live event below moves students on.
    if (state.ended && helpForm) helpForm.hidden = true
  }

  function handle (message) {
    switch (message.type) {
      case 'state': applyState(message.state); break
      case 'broadcast': addBroadcast(message); break
      case 'timer': setTimer(message.timer, labelFor(message.timer)); break
      case 'comment': addComment(message.comment); announce(fmt(S.newComment, { field: message.comment.field_label, text: message.comment.text })); break
      case 'comment_done': removeComment(message.id); break
      case 'help_state': showHelp(message); break
      case 'session_ended': sessionEnded(message.url); break
      case 'error': announce(message.message || S.error); break
      default: break
    }
  }

  function connect () {
    var scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
    socket = new WebSocket(scheme + '//' + window.location.host + config.socket)
    socket.addEventListener('open', function () {
      backoff = 1000
      root.dataset.events = 'open'
    })
    socket.addEventListener('message', function (event) {
      var message
      try { message = JSON.parse(event.data) } catch (e) { return }
      if (message && typeof message.type === 'string') handle(message)
    })
    socket.addEventListener('close', function (event) {
      socket = null
      root.dataset.events = 'closed'
      if (event.code === 4403 || ended) return // not ours any more; the Yjs status line says so
      window.setTimeout(connect, backoff)
      backoff = Math.min(backoff * 2, 15000)
    })
  }

  function send (command) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false
    socket.send(JSON.stringify(command))
    return true
  }

  document.addEventListener('submit', function (event) {
    var form = event.target
    if (!form.matches) return
    if (form.matches('[data-live-help]')) {
      var cancel = event.submitter && event.submitter.value === 'cancel'
      var note = form.querySelector('[name=note]')
      var sent = cancel ? send({ type: 'cancel_help' }) : send({ type: 'ask_help', note: note ? note.value : '' })
      if (sent) {
        event.preventDefault() // the socket carried it; help_state comes back to every page of the havruta
        if (note && !cancel) note.value = ''
      }
    } else if (form.matches('[data-comment-done-form]')) {
      var box = form.closest('[data-comment]')
      if (box && send({ type: 'comment_done', id: Number(box.dataset.comment) })) event.preventDefault()
    }
  })

  // Comments rendered by the server get their pins too.
  if (config.state) {
    (config.state.comments || []).forEach(function (comment) {
      if (!comment.done) {
        comments[comment.id] = comment
        pin(comment)
      }
    })
    setTimer(config.state.timer, undefined)
  }
  connect()
  window.setInterval(drawTimer, 1000)
  window.setInterval(function () { send({ type: 'ping' }) }, 30000)
})()
