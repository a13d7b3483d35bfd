// What the live dashboard (live.js) and a worksheet page's class events (worksheet_events.js) share:
// message formatting, DOM nodes with text only, the step timer's clock and a paced live region.
;(function () {
  'use strict'

  // "%(name)s is here" with {name: "Dana"} -> "Dana is here" (Django's named placeholders).
  function fmt (text, values) {
    return String(text || '').replace(/%\((\w+)\)s/g, function (_m, key) {
      return values && values[key] !== undefined ? String(values[key]) : ''
    })
  }

  // People's words always go in as text, never as HTML.
  function el (tag, className, text) {
    var node = document.createElement(tag)
    if (className) node.className = className
    if (text !== undefined && text !== null) node.textContent = text
    return node
  }

  function clock (seconds) {
    seconds = Math.max(0, Math.round(seconds))
    var s = seconds % 60
    return Math.floor(seconds / 60) + ':' + (s < 10 ? '0' : '') + s
  }

  // What the step timer shows; `deadline` is the local time a running timer ends.
  function timerText (timer, deadline, S) {
    if (!timer || timer.state === 'stopped') return ''
    if (timer.state === 'paused') return S.paused + ' (' + clock(timer.remaining) + ')'
    var left = Math.max(0, (deadline - Date.now()) / 1000)
    return left > 0 ? fmt(S.remaining, { time: clock(left) }) : S.timeUp
  }

  // A polite live region that never floods: one message at a time, at least `gap` ms apart, and a
  // burst keeps only its last three (the page itself shows every one).
  function announcer (region, gap) {
    var queue = []
    var quietUntil = 0
    var timer = null

    function next () {
      if (timer || !queue.length) return
      timer = window.setTimeout(function () {
        timer = null
        var text = queue.shift()
        // Emptied first, so the same words twice in a row are read twice.
        region.textContent = ''
        window.setTimeout(function () { region.textContent = text }, 50)
        quietUntil = Date.now() + gap
        next()
      }, Math.max(0, quietUntil - Date.now()))
    }

    return function announce (text) {
      if (!region || !text || queue.indexOf(text) >= 0) return
      queue.push(text)
      if (queue.length > 3) queue.shift()
      next()
    }
  }

  window.havrutaLive = { fmt: fmt, el: el, clock: clock, timerText: timerText, announcer: announcer }
})()
