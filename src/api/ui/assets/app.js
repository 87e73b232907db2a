// The Rebound dashboard (README "HTTP API", dashboard). Plain browser JavaScript, no build: it
// reads the /v1 routes with the key the operator entered (kept in sessionStorage, sent as
// Bearer) and builds every element with textContent. Addresses and SMTP replies come from the
// internet: nothing they hold is ever parsed as HTML.
(function () {
  'use strict';

  const KEY_STORAGE = 'rebound.apiKey';
  const $ = (id) => document.getElementById(id);
  let uiConfig = { temporalUiUrl: '', namespace: 'default' };
  let suppressionCursor = null;
  // Each list request's number: an answer to an older request (a search typed before a lift,
  // the list loaded at sign-in) must not overwrite a newer one's rows.
  let suppressionRequest = 0;
  let suppressionFilter = {};
  const charts = {};

  // ------------------------------------------------------------------------------------------
  // DOM helpers: text only

  /** An element with text content (never HTML), optional class and attributes. */
  function el(tag, text, opts) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (opts && opts.className) node.className = opts.className;
    if (opts && opts.title) node.title = String(opts.title);
    return node;
  }

  function row(cells) {
    const tr = document.createElement('tr');
    for (const c of cells) tr.appendChild(c instanceof Node ? wrapCell(c) : el('td', c));
    return tr;
  }

  function wrapCell(node) {
    if (node.tagName === 'TD') return node;
    const td = document.createElement('td');
    td.appendChild(node);
    return td;
  }

  function emptyRow(tbody, columns, text) {
    const td = el('td', text, { className: 'empty' });
    td.colSpan = columns;
    const tr = document.createElement('tr');
    tr.appendChild(td);
    tbody.appendChild(tr);
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function status(text, isError) {
    const s = $('status');
    s.textContent = text || '';
    s.className = isError ? 'error' : '';
  }

  const percent = (r) => `${(r * 100).toFixed(1)} %`;
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

  // ------------------------------------------------------------------------------------------
  // The API

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && problem.detail) || `HTTP ${status}`);
      this.status = status;
      this.problem = problem;
    }
  }

  async function api(method, path, json) {
    const key = sessionStorage.getItem(KEY_STORAGE);
    const headers = { authorization: `Bearer ${key}`, accept: 'application/json' };
    if (json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
    const text = await res.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (_) {
      body = null;
    }
    if (!res.ok) {
      if (res.status === 401) showLogin('The key was refused: ' + ((body && body.detail) || 'unauthorized'));
      throw new ApiError(res.status, body);
    }
    return body;
  }

  // ------------------------------------------------------------------------------------------
  // Key

  // The Temporal UI decodes encrypted payloads through /codec with this key, sent as an HttpOnly
  // cookie the API sets (README "Payload encryption"); best effort: a stack without the codec answers 404.
  function codecSession(method, key) {
    const headers = key ? { authorization: `Bearer ${key}` } : {};
    return fetch('/codec/session', { method, headers }).catch(() => undefined);
  }

  function showLogin(message) {
    if (sessionStorage.getItem(KEY_STORAGE)) codecSession('DELETE');
    sessionStorage.removeItem(KEY_STORAGE);
    $('app').hidden = true;
    $('forget-key').hidden = true;
    $('login').hidden = false;
    status(message || '', !!message);
  }

  async function start() {
    $('login').hidden = true;
    $('app').hidden = false;
    $('forget-key').hidden = false;
    status('');
    await Promise.all([loadDomains(), loadSites(), loadRetrying(), loadSuppressions(true)]);
  }

  // ------------------------------------------------------------------------------------------
  // Domains and their charts

  async function loadDomains() {
    const tbody = $('domains-table').tBodies[0];
    try {
      // The busiest 1,000 (the list is sorted by volume): every domain on all but the largest setups.
      const domains = await api('GET', '/v1/domains?window=24h&limit=1000');
      clear(tbody);
      if (domains.length === 0) return emptyRow(tbody, 6, 'no attempts in the last 24 h');
      for (const d of domains) {
        const pick = el('button', d.domain, { className: 'link' });
        pick.type = 'button';
        pick.dataset.domain = d.domain;
        pick.addEventListener('click', () => showDomain(d.domain, tr));
        const tr = row([pick, el('td', d.attempts, { className: 'num' }), el('td', d.sends, { className: 'num' }), el('td', percent(d.softBounceRate), { className: 'num' }), el('td', percent(d.hardBounceRate), { className: 'num' }), el('td', d.verdict, { className: `verdict-${d.verdict}` })]);
        tr.dataset.domain = d.domain;
        tbody.appendChild(tr);
      }
    } catch (err) {
      clear(tbody);
      emptyRow(tbody, 6, `could not load the domains: ${err.message}`);
    }
  }

  async function showDomain(domain, tr) {
    for (const other of $('domains-table').tBodies[0].rows) other.classList.remove('selected');
    if (tr) tr.classList.add('selected');
    $('domain-detail').hidden = false;
    $('domain-title').textContent = domain;
    const q = encodeURIComponent(domain);
    try {
      const [day, week] = await Promise.all([api('GET', `/v1/domains/${q}/series?window=24h`), api('GET', `/v1/domains/${q}/series?window=7d`)]);
      drawChart('chart-24h', day, (at) => new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
      drawChart('chart-7d', week, (at) => new Date(at).toLocaleDateString([], { month: 'short', day: 'numeric' }));
      $('domain-detail').dataset.loaded = domain;
    } catch (err) {
      status(`could not load the series of ${domain}: ${err.message}`, true);
    }
  }

  function drawChart(canvasId, series, label) {
    if (typeof window.Chart !== 'function') return status('the chart library did not load (/ui/assets/chart.umd.js)', true);
    const labels = series.points.map((p) => label(p.at));
    const line = (value) => series.points.map(() => value * 100);
    const data = {
      labels,
      datasets: [
        { label: 'soft-bounce rate %', data: series.points.map((p) => p.softBounceRate * 100), borderColor: '#d48a00', backgroundColor: '#d48a00', tension: 0 },
        { label: 'hard-bounce rate %', data: series.points.map((p) => p.hardBounceRate * 100), borderColor: '#c0262d', backgroundColor: '#c0262d', tension: 0 },
        { label: `watch (${series.thresholds.watch * 100} %)`, data: line(series.thresholds.watch), borderColor: '#a0a4ab', borderDash: [6, 4], pointRadius: 0, borderWidth: 1 },
        { label: `bad (${series.thresholds.bad * 100} %)`, data: line(series.thresholds.bad), borderColor: '#59606b', borderDash: [2, 3], pointRadius: 0, borderWidth: 1 },
      ],
    };
    if (charts[canvasId]) charts[canvasId].destroy();
    charts[canvasId] = new window.Chart($(canvasId), {
      type: 'line',
      data,
      options: { animation: false, responsive: false, scales: { y: { beginAtZero: true, suggestedMax: 10, title: { display: true, text: '%' } } }, plugins: { legend: { position: 'bottom' } } },
    });
  }

  // ------------------------------------------------------------------------------------------
  // Sites (README "Traffic shaping"): state, limits, what holds them back and their queues

  function limitsText(l) {
    return `conn ${l.initialConnections}→${l.connections}, ${l.messagesPerConnection}/conn, ${l.messagesPerMinute === null ? 'no rate cap' : `${l.messagesPerMinute}/min`}`;
  }

  /** One suspension or adjustment: scope, until, rule and the reply that caused it, as text. */
  function heldItem(x, kind, site) {
    const li = document.createElement('li');
    li.className = `held-${kind}`;
    const what = kind === 'adjustment' ? `throttled to ${[x.connections === null ? null : `${x.connections} conn`, x.messagesPerMinute === null ? null : `${x.messagesPerMinute}/min`].filter(Boolean).join(', ')}` : 'suspended';
    li.appendChild(el('span', `${x.scope === 'domain' ? `domain ${x.site} ` : ''}${what} until ${when(x.until)} by ${x.rule}`, { title: x.until }));
    if (x.reply) li.appendChild(el('div', x.reply, { className: 'reply' }));
    if (kind === 'suspension') {
      const resume = el('button', 'Resume', { className: 'resume' });
      resume.type = 'button';
      resume.dataset.site = x.site;
      resume.dataset.scope = x.scope;
      resume.addEventListener('click', async () => {
        resume.disabled = true;
        try {
          await api('POST', `/v1/sites/${encodeURIComponent(x.site)}/resume`, { scope: x.scope });
          status(`resumed ${x.scope === 'domain' ? 'domain' : 'site'} ${x.site}`);
          await loadSites();
        } catch (err) {
          resume.disabled = false;
          status(`could not resume ${x.site}: ${err.message}`, true);
        }
      });
      li.appendChild(resume);
    }
    return li;
  }

  function queueCell(q) {
    const td = el('td', null, { className: 'queue' });
    if (q.total === 0) {
      td.textContent = 'none';
      return td;
    }
    td.appendChild(el('div', `${q.total} deferred${q.recipients.length < q.total ? ` (first ${q.recipients.length})` : ''}`, { className: 'queue-total' }));
    const ul = document.createElement('ul');
    for (const r of q.recipients) {
      const li = el('li', `${r.recipient} (${r.messageId}, attempt ${r.attempt})${r.heldBack ? ' held back' : ''}`, { title: replyText(r.reply) });
      li.dataset.recipient = r.recipient;
      ul.appendChild(li);
    }
    td.appendChild(ul);
    return td;
  }

  /** An operator's suspension (admin): the API names a bad field in its 422, shown as is. */
  async function suspendFromForm() {
    const site = $('suspend-site').value.trim();
    const scope = $('suspend-scope').value;
    const body = { minutes: Number($('suspend-minutes').value), scope };
    const note = $('suspend-note').value.trim();
    if (note) body.note = note;
    try {
      const s = await api('POST', `/v1/sites/${encodeURIComponent(site)}/suspend`, body);
      status(`suspended ${s.scope === 'domain' ? 'domain' : 'site'} ${s.site} until ${s.until}`);
      $('suspend-site').value = '';
      $('suspend-note').value = '';
      await loadSites();
    } catch (err) {
      status(`could not suspend ${site}: ${err.message}`, true);
    }
  }

  async function loadSites() {
    const tbody = $('sites-table').tBodies[0];
    try {
      const view = await api('GET', '/v1/sites?queue=10');
      clear(tbody);
      const extra = view.unplaced.suspensions.length + view.unplaced.adjustments.length;
      if (view.sites.length === 0 && extra === 0) return emptyRow(tbody, 6, 'no site suspended, throttled, configured or attempted in the last 24 h');
      for (const s of view.sites) {
        const held = document.createElement('ul');
        for (const x of s.suspensions) held.appendChild(heldItem(x, 'suspension', s.site));
        for (const a of s.adjustments) held.appendChild(heldItem(a, 'adjustment', s.site));
        const h = s.lastHour;
        const limits = limitsText(s.limits) + (limitsText(s.effectiveLimits) === limitsText(s.limits) ? '' : ` (now ${limitsText(s.effectiveLimits)})`);
        const tr = row([el('td', s.site), el('td', s.state, { className: `state-${s.state}` }), el('td', limits), held, queueCell(s.queue), el('td', `${h.delivered} delivered, ${h.soft} deferred, ${h.hard} bounced, ${h.heldBack} held back`)]);
        tr.dataset.site = s.site;
        tbody.appendChild(tr);
      }
      for (const x of view.unplaced.suspensions.concat(view.unplaced.adjustments)) {
        const kind = x.connections === undefined ? 'suspension' : 'adjustment';
        const held = document.createElement('ul');
        held.appendChild(heldItem(x, kind, x.site));
        const tr = row([el('td', `${x.site} (domain, site not seen yet)`), el('td', kind === 'suspension' ? 'suspended' : 'throttled'), el('td', ''), held, el('td', ''), el('td', '')]);
        tr.dataset.site = x.site;
        tbody.appendChild(tr);
      }
    } catch (err) {
      clear(tbody);
      emptyRow(tbody, 6, `could not load the sites: ${err.message}`);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Messages retrying now

  function temporalLink(workflowId) {
    const a = el('a', 'Temporal UI');
    a.href = `${uiConfig.temporalUiUrl}/namespaces/${encodeURIComponent(uiConfig.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.className = 'temporal-link';
    return a;
  }

  function replyText(reply) {
    if (!reply) return '';
    return [reply.code, reply.enhanced, reply.text].filter((x) => x !== null && x !== undefined && x !== '').join(' ');
  }

  async function loadRetrying() {
    const tbody = $('retrying-table').tBodies[0];
    try {
      const list = await api('GET', '/v1/messages?state=retrying&limit=50');
      // The status query of each: next attempt and last reply per recipient.
      const statuses = await Promise.all(list.items.map((m) => api('GET', `/v1/messages/${encodeURIComponent(m.messageId)}`).catch((err) => ({ error: err, ...m }))));
      clear(tbody);
      if (statuses.length === 0) return emptyRow(tbody, 6, 'no message is waiting for a retry');
      for (const s of statuses) {
        const recipients = s.error ? [{ address: `(status unavailable: ${s.error.message})` }] : s.recipients.filter((r) => r.state === 'retrying' || r.state === 'pending');
        for (const r of recipients.length > 0 ? recipients : [{}]) {
          const tr = row([
            el('td', s.messageId),
            el('td', r.address || ''),
            el('td', r.attempts === undefined ? '' : r.attempts, { className: 'num' }),
            el('td', when(r.nextAttemptAt || s.nextAttemptAt), { title: r.nextAttemptAt || s.nextAttemptAt || '' }),
            el('td', replyText(r.lastReply), { className: 'reply' }),
            temporalLink(s.workflowId || `delivery:${s.messageId}`),
          ]);
          tr.dataset.messageId = s.messageId;
          tbody.appendChild(tr);
        }
      }
    } catch (err) {
      clear(tbody);
      emptyRow(tbody, 6, `could not list the retrying messages: ${err.message}`);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Suppressions

  async function loadSuppressions(fresh) {
    const tbody = $('suppressions-table').tBodies[0];
    if (fresh) suppressionCursor = null;
    const params = new URLSearchParams({ limit: '50' });
    if (suppressionFilter.prefix) params.set('prefix', suppressionFilter.prefix);
    if (suppressionFilter.domain) params.set('domain', suppressionFilter.domain);
    if (suppressionCursor) params.set('cursor', suppressionCursor);
    const mine = ++suppressionRequest;
    try {
      const page = await api('GET', `/v1/suppressions?${params}`);
      if (mine !== suppressionRequest) return;
      if (fresh) clear(tbody);
      if (fresh && page.items.length === 0) emptyRow(tbody, 6, 'no active suppression matches');
      for (const s of page.items) tbody.appendChild(suppressionRow(s));
      suppressionCursor = page.nextCursor;
      $('more-suppressions').hidden = !page.nextCursor;
    } catch (err) {
      if (mine !== suppressionRequest) return;
      if (fresh) clear(tbody);
      emptyRow(tbody, 6, `could not list the suppressions: ${err.message}`);
    }
  }

  function suppressionRow(s) {
    const lift = el('button', 'Lift', { className: 'lift' });
    lift.type = 'button';
    lift.dataset.address = s.address;
    const tr = row([el('td', s.address), el('td', s.reason), el('td', s.source || ''), el('td', when(s.since), { title: s.since }), el('td', s.until ? when(s.until) : 'never', { title: s.until || '' }), lift]);
    tr.dataset.address = s.address;
    lift.addEventListener('click', async () => {
      lift.disabled = true;
      try {
        await api('DELETE', `/v1/suppressions/${encodeURIComponent(s.address)}?reason=dashboard`);
        tr.remove();
        status(`lifted ${s.address}`);
        // A list answer in flight from before the lift would show the row again: ask anew.
        if (suppressionRequest > 0) loadSuppressions(true);
      } catch (err) {
        lift.disabled = false;
        status(`could not lift ${s.address}: ${err.message}`, true);
      }
    });
    return tr;
  }

  // ------------------------------------------------------------------------------------------
  // Wiring

  document.addEventListener('DOMContentLoaded', async () => {
    $('key-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const key = $('key-input').value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY_STORAGE, key);
      $('key-input').value = '';
      codecSession('POST', key);
      start();
    });
    $('forget-key').addEventListener('click', () => showLogin(''));
    $('refresh-retrying').addEventListener('click', () => loadRetrying());
    $('refresh-sites').addEventListener('click', () => loadSites());
    $('suspend-form').addEventListener('submit', (e) => {
      e.preventDefault();
      suspendFromForm();
    });
    $('more-suppressions').addEventListener('click', () => loadSuppressions(false));
    $('suppression-search').addEventListener('submit', (e) => {
      e.preventDefault();
      const value = $('search-input').value.trim();
      suppressionFilter = value === '' ? {} : { [$('search-by').value]: value };
      loadSuppressions(true);
    });
    try {
      const res = await fetch('/ui/config.json');
      if (res.ok) uiConfig = await res.json();
    } catch (_) {
      // The links fall back to the defaults; the rest of the page works.
    }
    if (sessionStorage.getItem(KEY_STORAGE)) start();
    else showLogin('');
  });
})();
