/**
 * The heatmap views' browser script (plain ES2020, no template literals so it can live in this
 * string), shared by the static heatmap page and the playground. It defines
 * `window.kvtrimHeatmap(D)`, which (re)draws HeatmapData `D` (weights as base64 float32 or as
 * numbers) on the plain canvases of `heatmapViewsHtml`; calling it again replaces the views.
 */
export const HEATMAP_CLIENT = String.raw`
window.kvtrimHeatmap = function (D) {
  var T = D.tokens.length, B = D.block;
  var MAGMA = [[0,0,4],[28,16,68],[79,18,123],[129,37,129],[181,54,122],[229,80,100],[251,135,97],[254,194,135],[252,253,191]];
  var KEPT = [46,157,91], EVICTED = [217,83,79];
  var LUT = [];
  for (var i = 0; i < 256; i++) {
    var x = i / 255 * (MAGMA.length - 1), k = Math.min(MAGMA.length - 2, Math.floor(x)), f = x - k;
    LUT.push([0,1,2].map(function (c) { return Math.round(MAGMA[k][c] + f * (MAGMA[k + 1][c] - MAGMA[k][c])); }));
  }
  function f32(b64) {
    var s = atob(b64), u = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
    return new Float32Array(u.buffer);
  }
  D.maps.forEach(function (m) {
    m.w = typeof m.weights === 'string' ? f32(m.weights) : Float32Array.from(m.weights);
    m.max = 0;
    for (var i = 0; i < m.w.length; i++) if (m.w[i] > m.max) m.max = m.w[i];
  });
  var byKey = {};
  D.maps.forEach(function (m) { byKey[m.layer + '/' + m.head] = m; });
  var layers = uniq(D.maps.map(function (m) { return m.layer; }));
  var heads = uniq(D.maps.map(function (m) { return m.head; }));
  var sel = D.maps[0];
  var scaleMode = 'sqrt';
  // start with the heatmap fitting the width of its scroll box (label margin 110 px)
  var cell = Math.max(2, Math.min(16, Math.floor((document.getElementById('main').parentNode.clientWidth - 112) / D.cols)));
  var $ = function (id) { return document.getElementById(id); };

  function uniq(a) { return a.filter(function (v, i) { return a.indexOf(v) === i; }).sort(function (x, y) { return x - y; }); }
  function visible(t) { return t.replace(/\n/g, '\u21b5').replace(/\t/g, '\u21e5').replace(/ /g, '\u00b7') || '\u2205'; }
  function rowSpan(r) { var a = D.rowStart + r * B; return [a, Math.min(a + B, T) - 1]; }
  function colSpan(c) { var a = c * B; return [a, Math.min(a + B, T) - 1]; }
  function spanLabel(s) { return s[0] === s[1] ? visible(D.tokens[s[0]].text) : s[0] + '\u2013' + s[1]; }
  function describe(s) {
    return s[0] === s[1] ? '#' + s[0] + ' ' + JSON.stringify(D.tokens[s[0]].text) : '#' + s[0] + '\u2013' + s[1];
  }
  function level(m, w) {
    if (m.max <= 0 || w <= 0) return 0;
    var v = w / m.max;
    if (scaleMode === 'sqrt') v = Math.sqrt(v);
    else if (scaleMode === 'log') v = Math.max(0, 1 + Math.log10(v) / 4);
    return Math.min(255, Math.round(v * 255));
  }
  /** One pixel per cell; masked (future) cells stay light grey. */
  function cellImage(m) {
    var img = new ImageData(D.cols, D.rows);
    for (var r = 0; r < D.rows; r++) {
      var last = rowSpan(r)[1];
      for (var c = 0; c < D.cols; c++) {
        var o = (r * D.cols + c) * 4, rgb = c * B > last ? [238,238,238] : LUT[level(m, m.w[r * D.cols + c])];
        img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2]; img.data[o + 3] = 255;
      }
    }
    var cv = document.createElement('canvas');
    cv.width = D.cols; cv.height = D.rows;
    cv.getContext('2d').putImageData(img, 0, 0);
    return cv;
  }
  /** Share of each key block a press kept on (layer, kvHead). */
  function keptShare(p, m) {
    var share = new Float32Array(D.cols), pos = p.kept[m.layer][m.kvHead];
    for (var i = 0; i < pos.length; i++) share[Math.floor(pos[i] / B)] += 1;
    for (var c = 0; c < D.cols; c++) { var s = colSpan(c); share[c] /= s[1] - s[0] + 1; }
    return share;
  }
  function mix(a, b, f) { return 'rgb(' + [0,1,2].map(function (i) { return Math.round(a[i] + f * (b[i] - a[i])); }).join(',') + ')'; }

  /** Draws a map at size px per cell, labels on the axes, a kept/evicted strip when kept shares are given. */
  function drawMap(cv, m, size, labels, kept) {
    var ml = labels ? 110 : 0, strip = kept ? 12 : 0, mt = (labels ? 110 : 0) + strip;
    cv.width = ml + D.cols * size; cv.height = mt + D.rows * size;
    cv.dataset.ml = ml; cv.dataset.mt = mt; cv.dataset.cell = size; cv.dataset.strip = strip;
    var g = cv.getContext('2d');
    g.fillStyle = '#fff'; g.fillRect(0, 0, cv.width, cv.height);
    g.imageSmoothingEnabled = false;
    g.drawImage(cellImage(m), ml, mt, D.cols * size, D.rows * size);
    if (kept) {
      for (var c = 0; c < D.cols; c++) {
        g.fillStyle = mix(EVICTED, KEPT, kept[c]);
        g.fillRect(ml + c * size, mt - strip, size, strip - 2);
        if (kept[c] < 1) { g.fillStyle = 'rgba(255,255,255,' + (0.7 * (1 - kept[c])) + ')'; g.fillRect(ml + c * size, mt, size, D.rows * size); }
      }
    }
    g.strokeStyle = 'rgba(60,200,255,0.9)'; g.lineWidth = 1;
    D.segments.forEach(function (s) {
      if (s.start === 0) return;
      var x = ml + (s.start / B) * size, y = mt + ((s.start - D.rowStart) / B) * size;
      g.beginPath(); g.moveTo(x + 0.5, mt); g.lineTo(x + 0.5, cv.height); g.stroke();
      if (s.start > D.rowStart) { g.beginPath(); g.moveTo(ml, y + 0.5); g.lineTo(cv.width, y + 0.5); g.stroke(); }
    });
    if (!labels) return;
    var step = Math.max(1, Math.ceil(9 / size)), font = Math.max(8, Math.min(12, size - 1));
    g.fillStyle = '#1d2330'; g.font = font + 'px monospace'; g.textBaseline = 'middle';
    g.textAlign = 'right';
    for (var r = 0; r < D.rows; r += step) g.fillText(spanLabel(rowSpan(r)).slice(0, 14), ml - 4, mt + (r + 0.5) * size);
    g.save(); g.translate(ml, mt - strip - 4); g.rotate(-Math.PI / 2); g.textAlign = 'left';
    for (var c2 = 0; c2 < D.cols; c2 += step) g.fillText(spanLabel(colSpan(c2)).slice(0, 14), 0, (c2 + 0.5) * size);
    g.restore();
  }

  function hoverText(m, r, c) {
    var rs = rowSpan(r), cs = colSpan(c), w = m.w[r * D.cols + c];
    var what = cs[0] > rs[1] ? 'masked (future key)' : (B === 1 ? 'weight ' : 'mean block mass ') + w.toPrecision(4);
    return 'query ' + describe(rs) + ' \u2192 key ' + describe(cs) + ': ' + what;
  }
  function onHover(ev) {
    var cv = ev.currentTarget, size = +cv.dataset.cell;
    var c = Math.floor((ev.offsetX - cv.dataset.ml) / size), r = Math.floor((ev.offsetY - cv.dataset.mt) / size);
    var tip = $('tip');
    if (r < 0 || c < 0 || r >= D.rows || c >= D.cols) { tip.style.display = 'none'; return; }
    var text = hoverText(sel, r, c);
    $('hover').textContent = text;
    tip.textContent = text;
    tip.style.display = 'block';
    tip.style.left = (ev.pageX + 14) + 'px'; tip.style.top = (ev.pageY + 14) + 'px';
  }

  function policyOf(layer, kvHead) {
    var out = [];
    D.presses.forEach(function (p) { if (p.policies) out.push(p.policies[layer][kvHead]); });
    return out.join(', ');
  }

  function drawSelected() {
    $('selected').textContent = 'layer ' + sel.layer + ' \u00b7 head ' + sel.head + ' (KV head ' + sel.kvHead + ')' +
      (policyOf(sel.layer, sel.kvHead) ? ' \u00b7 policy ' + policyOf(sel.layer, sel.kvHead) : '');
    $('layer').value = sel.layer; $('head').value = sel.head;
    drawMap($('main'), sel, cell, true, null);
    var ps = $('presses');
    ps.textContent = '';
    var small = Math.max(1, Math.min(cell, Math.floor(260 / D.cols)));
    D.presses.forEach(function (p, i) {
      var fig = document.createElement('figure'), cv = document.createElement('canvas'), cap = document.createElement('figcaption');
      var pos = p.kept[sel.layer][sel.kvHead];
      cap.textContent = p.name + ' \u00b7 ratio ' + p.ratio + ' \u00b7 kept ' + pos.length + ' of ' + T +
        (p.policies ? ' \u00b7 policy ' + p.policies[sel.layer][sel.kvHead] : '');
      cv.id = 'press-' + i; cv.className = 'overlay'; cv.dataset.press = p.name;
      drawMap(cv, sel, small, false, keptShare(p, sel));
      fig.appendChild(cap); fig.appendChild(cv); ps.appendChild(fig);
    });
    document.querySelectorAll('.thumb').forEach(function (t) { t.classList.toggle('sel', t.dataset.key === sel.layer + '/' + sel.head); });
    document.querySelectorAll('#stats tbody tr').forEach(function (t) { t.classList.toggle('sel', t.dataset.key === sel.layer + '/' + sel.head); });
  }
  function select(layer, head) {
    var m = byKey[layer + '/' + head];
    if (m) { sel = m; drawSelected(); }
  }

  /** Policy names shortened for the grid: one capital per part ("special+punct" is "SP"); "full" stays. */
  function abbrev(p) { return p === 'full' ? 'full' : p.split('+').map(function (w) { return w.charAt(0).toUpperCase(); }).join(''); }
  function policyLegend() {
    var words = [];
    D.presses.forEach(function (p) {
      (p.policies || []).forEach(function (l) { l.forEach(function (x) { x.split('+').forEach(function (w) { if (w !== 'full' && words.indexOf(w) < 0) words.push(w); }); }); });
    });
    return words.length ? 'Policies: ' + words.map(function (w) { return abbrev(w) + ' = ' + w; }).join(', ') : '';
  }

  function buildGrid() {
    var tb = $('grid');
    tb.textContent = '';
    var hr = document.createElement('tr');
    hr.appendChild(document.createElement('th'));
    heads.forEach(function (h) { var th = document.createElement('th'); th.textContent = 'head ' + h; hr.appendChild(th); });
    tb.appendChild(hr);
    layers.forEach(function (l) {
      var tr = document.createElement('tr'), th = document.createElement('th');
      th.textContent = 'layer ' + l; tr.appendChild(th);
      heads.forEach(function (h) {
        var td = document.createElement('td'), m = byKey[l + '/' + h];
        if (m) {
          var cv = document.createElement('canvas');
          cv.width = 56; cv.height = 56; cv.className = 'thumb'; cv.dataset.key = l + '/' + h;
          cv.title = 'layer ' + l + ' head ' + h + ': entropy ' + m.stats.entropy.toFixed(2) + ' nats, top-10% mass ' + m.stats.top10.toFixed(2);
          var g = cv.getContext('2d');
          g.drawImage(cellImage(m), 0, 0, 56, 56);
          cv.addEventListener('click', function () { select(l, h); });
          td.appendChild(cv);
          var pol = policyOf(l, m.kvHead);
          var cap = document.createElement('div');
          cap.className = 'cap'; cap.textContent = 'H ' + m.stats.entropy.toFixed(2) + (pol ? ' \u00b7 ' + abbrev(pol) : '');
          if (pol) cv.title += ', policy ' + pol;
          td.appendChild(cap);
        }
        tr.appendChild(td);
      });
      tb.appendChild(tr);
    });
    $('legend').textContent = policyLegend();
  }

  function buildStats() {
    var pol = D.presses.filter(function (p) { return p.policies; });
    var head = ['layer', 'head', 'KV head', 'entropy (nats)', 'top-10% mass'].concat(D.segments.map(function (s) { return 'mass: ' + s.label; }))
      .concat(pol.map(function (p) { return p.name + ' policy'; }));
    var t = $('stats');
    t.textContent = '';
    var th = document.createElement('thead'), tr = document.createElement('tr');
    head.forEach(function (h) { var e = document.createElement('th'); e.textContent = h; tr.appendChild(e); });
    th.appendChild(tr); t.appendChild(th);
    var tb = document.createElement('tbody');
    D.maps.forEach(function (m) {
      var row = document.createElement('tr');
      row.dataset.key = m.layer + '/' + m.head;
      [m.layer, m.head, m.kvHead, m.stats.entropy.toFixed(3), m.stats.top10.toFixed(3)]
        .concat(m.stats.segmentMass.map(function (v) { return v.toFixed(3); }))
        .concat(pol.map(function (p) { return p.policies[m.layer][m.kvHead]; }))
        .forEach(function (v) { var td = document.createElement('td'); td.textContent = v; row.appendChild(td); });
      row.addEventListener('click', function () { select(m.layer, m.head); });
      tb.appendChild(row);
    });
    t.appendChild(tb);
  }

  function options(el, values, prefix) {
    el.textContent = '';
    values.forEach(function (v) { var o = document.createElement('option'); o.value = v; o.textContent = prefix + v; el.appendChild(o); });
  }
  options($('layer'), layers, 'layer ');
  options($('head'), heads, 'head ');
  // handlers as properties, so a redraw with new data replaces the last one's
  $('layer').onchange = function () { select(+$('layer').value, sel.head); };
  $('head').onchange = function () { select(sel.layer, +$('head').value); };
  $('zoom').value = cell;
  $('zoom').oninput = function () { cell = +$('zoom').value; drawSelected(); };
  $('scale').value = scaleMode;
  $('scale').onchange = function () { scaleMode = $('scale').value; drawSelected(); };
  $('main').onmousemove = onHover;
  $('main').onmouseleave = function () { $('tip').style.display = 'none'; };
  buildGrid();
  buildStats();
  drawSelected();
  window.kvtrimHeatmapReady = true;
};
`;
