// A polite live region that never floods, shared by the live dashboard (live.js) and the worksheet
// page's class events (worksheet_events.js): one message at a time, at least `gap` ms apart, and a
// burst keeps only its last three (the page itself shows every one).
;(function () {
  'use strict'

  window.havrutaAnnouncer = function (region, gap) {
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
})()
