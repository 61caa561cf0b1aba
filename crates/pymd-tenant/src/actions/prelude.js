// The Node-like world an Auth0 post-login Action sees, as far as the PyMD dev tenant stands in
// for it: `console`, timers, `fetch` (with Headers, Response, AbortSignal.timeout and
// URLSearchParams), `require` of the declared dependencies PyMD provides (axios), the `event`
// and the `api` of the post-login trigger. Everything outside that surface throws an error that
// names it. The host (Rust) provides `__host.fetch(json) -> json` and `__host.log(level, text)`;
// it drives the flow through `globalThis.__pymd` (start an Action, fire due timers, read the
// status and the result).
(function (host) {
  'use strict';
  const g = globalThis;

  // ---- console ---------------------------------------------------------------------------
  function show(v) {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack}` : String(v);
    try {
      const s = JSON.stringify(v);
      return s === undefined ? String(v) : s;
    } catch (_) {
      return String(v);
    }
  }
  const log = (level) => (...args) => host.log(level, args.map(show).join(' '));
  g.console = {
    log: log('log'), info: log('info'), debug: log('debug'), warn: log('warn'), error: log('error'),
  };

  // ---- timers (run by the host's loop when no promise job is left) ------------------------
  const timers = new Map();
  let nextTimer = 1;
  g.setTimeout = (fn, ms, ...args) => {
    const id = nextTimer++;
    timers.set(id, { at: Date.now() + Math.max(0, Number(ms) || 0), fn, args });
    return id;
  };
  g.clearTimeout = (id) => { timers.delete(id); };
  g.setImmediate = (fn, ...args) => g.setTimeout(fn, 0, ...args);
  g.clearImmediate = g.clearTimeout;
  g.setInterval = () => { throw new Error('setInterval is not supported by the PyMD dev tenant'); };

  // ---- URLSearchParams, Headers, Response, AbortSignal, fetch -----------------------------
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
  const dec = (s) => decodeURIComponent(String(s).replace(/\+/g, ' '));
  class URLSearchParams {
    constructor(init) {
      this._p = [];
      if (init === undefined || init === null) return;
      if (typeof init === 'string') {
        for (const part of init.replace(/^\?/, '').split('&')) {
          if (!part) continue;
          const i = part.indexOf('=');
          this._p.push(i < 0 ? [dec(part), ''] : [dec(part.slice(0, i)), dec(part.slice(i + 1))]);
        }
      } else {
        const pairs = Array.isArray(init) || init instanceof URLSearchParams ? [...init] : Object.entries(init);
        for (const [k, v] of pairs) this._p.push([String(k), String(v)]);
      }
    }
    append(k, v) { this._p.push([String(k), String(v)]); }
    set(k, v) { this.delete(k); this.append(k, v); }
    get(k) { const e = this._p.find(([n]) => n === String(k)); return e ? e[1] : null; }
    getAll(k) { return this._p.filter(([n]) => n === String(k)).map(([, v]) => v); }
    has(k) { return this._p.some(([n]) => n === String(k)); }
    delete(k) { this._p = this._p.filter(([n]) => n !== String(k)); }
    entries() { return this._p[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this._p.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&'); }
  }
  g.URLSearchParams = URLSearchParams;

  class Headers {
    constructor(init) {
      this._m = new Map();
      if (!init) return;
      const pairs = init instanceof Headers || Array.isArray(init) ? [...init] : Object.entries(init);
      for (const [k, v] of pairs) if (v !== undefined) this.append(k, v);
    }
    get(k) { const v = this._m.get(String(k).toLowerCase()); return v === undefined ? null : v; }
    set(k, v) { this._m.set(String(k).toLowerCase(), String(v)); }
    append(k, v) {
      const key = String(k).toLowerCase();
      const old = this._m.get(key);
      this._m.set(key, old === undefined ? String(v) : `${old}, ${v}`);
    }
    has(k) { return this._m.has(String(k).toLowerCase()); }
    delete(k) { this._m.delete(String(k).toLowerCase()); }
    entries() { return this._m.entries(); }
    forEach(cb) { for (const [k, v] of this._m) cb(v, k, this); }
    [Symbol.iterator]() { return this.entries(); }
    toObject() { const o = {}; for (const [k, v] of this._m) o[k] = v; return o; }
  }
  g.Headers = Headers;

  class Response {
    constructor(r) {
      this.status = r.status;
      this.statusText = r.statusText;
      this.ok = r.status >= 200 && r.status < 300;
      this.headers = new Headers(r.headers);
      this.url = r.url;
      this.redirected = false;
      this.bodyUsed = false;
      this._body = r.body;
    }
    _take() {
      if (this.bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
      this.bodyUsed = true;
      return this._body;
    }
    text() { return new Promise((ok) => ok(this._take())); }
    json() { return this.text().then((t) => JSON.parse(t)); }
  }
  g.Response = Response;
  g.AbortSignal = { timeout: (ms) => ({ aborted: false, __timeoutMs: Number(ms) }) };

  // One HTTP exchange through the host; throws `{ transport: message, timedOut }` on failure.
  function exchange(method, url, headers, body, timeoutMs) {
    const reply = JSON.parse(host.fetch(JSON.stringify({
      method, url: String(url), headers: [...headers], body, timeoutMs: timeoutMs || 0,
    })));
    if (reply.error !== undefined) throw { transport: reply.error, timedOut: !!reply.timedOut };
    return reply;
  }

  function encodeBody(data, headers, objectsAsJson) {
    if (data === undefined || data === null) return null;
    if (data instanceof URLSearchParams) {
      if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
      return data.toString();
    }
    if (typeof data === 'string') {
      if (!headers.has('content-type')) headers.set('content-type', objectsAsJson ? 'application/x-www-form-urlencoded' : 'text/plain;charset=UTF-8');
      return data;
    }
    if (objectsAsJson && typeof data === 'object') {
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      return JSON.stringify(data);
    }
    throw new TypeError('PyMD dev tenant: a request body must be a string, URLSearchParams or (axios) a plain object');
  }

  g.fetch = function fetch(input, init) {
    const opts = init || {};
    return new Promise((resolve, reject) => {
      try {
        const url = typeof input === 'string' ? input : (input && input.url) || String(input);
        const headers = new Headers(opts.headers);
        const body = encodeBody(opts.body, headers, false);
        const timeout = opts.signal && opts.signal.__timeoutMs;
        resolve(new Response(exchange((opts.method || 'GET').toUpperCase(), url, headers, body, timeout)));
      } catch (e) {
        if (e && e.transport !== undefined) {
          const err = e.timedOut
            ? Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' })
            : Object.assign(new TypeError('fetch failed'), { cause: new Error(e.transport) });
          reject(err);
        } else {
          reject(e);
        }
      }
    });
  };

  // ---- axios (the subset Actions use: call forms, defaults, create, errors) ---------------
  function merge(...configs) {
    const out = { headers: {} };
    for (const c of configs) {
      if (!c) continue;
      for (const [k, v] of Object.entries(c)) {
        if (k === 'headers') Object.assign(out.headers, v || {});
        else if (v !== undefined) out[k] = v;
      }
    }
    return out;
  }
  function axiosError(message, code, config, response) {
    return Object.assign(new Error(message), {
      name: 'AxiosError', isAxiosError: true, code, config, response,
      toJSON() { return { message, name: 'AxiosError', code, status: response && response.status }; },
    });
  }
  function axiosRequest(config) {
    return new Promise((resolve, reject) => {
      try {
        let url = String(config.url || '');
        if (config.baseURL && !/^[a-z][a-z0-9+.-]*:/i.test(url)) {
          url = `${String(config.baseURL).replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}`;
        }
        if (config.params) url += (url.includes('?') ? '&' : '?') + new URLSearchParams(config.params).toString();
        const headers = new Headers(config.headers);
        if (!headers.has('accept')) headers.set('accept', 'application/json, text/plain, */*');
        const body = encodeBody(config.data, headers, true);
        let reply;
        try {
          reply = exchange((config.method || 'get').toUpperCase(), url, headers, body, config.timeout);
        } catch (e) {
          if (e && e.transport !== undefined) {
            reject(e.timedOut
              ? axiosError(`timeout of ${config.timeout || 0}ms exceeded`, 'ECONNABORTED', config)
              : axiosError(e.transport, 'ERR_NETWORK', config));
            return;
          }
          throw e;
        }
        let data = reply.body;
        if (config.responseType !== 'text' && typeof data === 'string' && data.length) {
          try { data = JSON.parse(data); } catch (_) { /* axios keeps text that is not JSON */ }
        }
        const response = {
          data, status: reply.status, statusText: reply.statusText,
          headers: new Headers(reply.headers).toObject(), config,
        };
        const valid = config.validateStatus === undefined
          ? (s) => s >= 200 && s < 300
          : config.validateStatus;
        if (!valid || valid(response.status)) {
          resolve(response);
        } else {
          const code = response.status >= 500 ? 'ERR_BAD_RESPONSE' : 'ERR_BAD_REQUEST';
          reject(axiosError(`Request failed with status code ${response.status}`, code, config, response));
        }
      } catch (e) {
        reject(e);
      }
    });
  }
  function makeAxios(defaults) {
    const ax = (a, b) => (typeof a === 'string'
      ? axiosRequest(merge(ax.defaults, b, { url: a }))
      : axiosRequest(merge(ax.defaults, a)));
    ax.defaults = merge(defaults);
    ax.request = (c) => axiosRequest(merge(ax.defaults, c));
    for (const m of ['get', 'delete', 'head', 'options']) {
      ax[m] = (url, c) => axiosRequest(merge(ax.defaults, c, { url, method: m }));
    }
    for (const m of ['post', 'put', 'patch']) {
      ax[m] = (url, data, c) => axiosRequest(merge(ax.defaults, c, { url, method: m, data }));
    }
    ax.create = (c) => makeAxios(merge(ax.defaults, c));
    ax.isAxiosError = (e) => !!(e && e.isAxiosError);
    ax.default = ax;
    return ax;
  }
  const provided = { axios: () => makeAxios({}) };

  const builtins = ['assert', 'buffer', 'child_process', 'crypto', 'dns', 'events', 'fs', 'http',
    'https', 'net', 'os', 'path', 'querystring', 'stream', 'url', 'util', 'zlib'];
  function requireFor(actionName, declared) {
    const loaded = {};
    return function require(name) {
      const id = String(name).replace(/^node:/, '');
      if (builtins.includes(id)) {
        throw new Error(`Action ${actionName}: require('${name}'): Node's ${id} module is not provided by the PyMD dev tenant`);
      }
      if (!declared.includes(id) || !provided[id]) {
        const e = new Error(`Cannot find module '${name}'`);
        e.code = 'MODULE_NOT_FOUND';
        throw e;
      }
      if (!loaded[id]) loaded[id] = provided[id]();
      return loaded[id];
    };
  }

  // ---- the post-login api ----------------------------------------------------------------
  const result = {
    denied: null, accessClaims: {}, idClaims: {}, scopes: [], userMetadata: {}, appMetadata: {},
  };
  function unsupported(name) {
    return () => { throw new Error(`api.${name} is not supported by the PyMD dev tenant`); };
  }
  function group(prefix, names) {
    const o = {};
    for (const n of names) o[n] = unsupported(`${prefix}.${n}`);
    return o;
  }
  function metadataSetter(target, eventField) {
    return (key, value) => {
      const k = String(key);
      target[k] = value === undefined ? null : value;
      const meta = g.__pymd.event.user[eventField] || (g.__pymd.event.user[eventField] = {});
      if (value === undefined || value === null) delete meta[k];
      else meta[k] = value;
    };
  }
  const api = {
    access: { deny(reason) { result.denied = reason === undefined ? '' : String(reason); return api; } },
    accessToken: {
      setCustomClaim(name, value) { result.accessClaims[String(name)] = value === undefined ? null : value; return api; },
      addScope(scope) { result.scopes.push(['add', String(scope)]); return api; },
      removeScope(scope) { result.scopes.push(['remove', String(scope)]); return api; },
    },
    idToken: {
      setCustomClaim(name, value) { result.idClaims[String(name)] = value === undefined ? null : value; return api; },
    },
    user: {
      setUserMetadata: metadataSetter(result.userMetadata, 'user_metadata'),
      setAppMetadata: metadataSetter(result.appMetadata, 'app_metadata'),
    },
    multifactor: group('multifactor', ['enable']),
    authentication: group('authentication', ['challengeWith', 'challengeWithAny', 'enrollWith', 'enrollWithAny', 'recordMethod', 'setPrimaryUser']),
    redirect: group('redirect', ['sendUserTo', 'encodeToken', 'validateToken']),
    cache: group('cache', ['get', 'set', 'delete']),
    samlResponse: group('samlResponse', ['setAttribute', 'setAudience', 'setIssuer', 'setDestination', 'setRelayState', 'setRecipient', 'setNameIdentifierFormat']),
    session: group('session', ['revoke', 'setExpiresAt', 'setIdleExpiresAt', 'setMetadata', 'deleteMetadata', 'evaluateMetadata']),
    transaction: group('transaction', ['setResultUrl']),
    prompt: group('prompt', ['render']),
    refreshToken: group('refreshToken', ['revoke', 'setExpiresAt', 'setIdleExpiresAt', 'setMetadata', 'deleteMetadata']),
    validation: group('validation', ['error']),
    rules: group('rules', ['wasExecuted']),
  };

  function messageOf(e) {
    if (e && typeof e === 'object' && e.message !== undefined) return String(e.message);
    return String(e);
  }

  g.__pymd = {
    event: null,
    status: 'idle',
    error: null,
    // Compiles and starts one Action; its handler's promise settles `status`.
    start(name, code, secrets, dependencies) {
      const event = this.event;
      event.secrets = secrets;
      this.status = 'running';
      this.error = null;
      try {
        const module = { exports: {} };
        const body = new Function('exports', 'require', 'module', '__filename', '__dirname', code);
        body(module.exports, requireFor(name, dependencies), module, `/${name}/code.js`, `/${name}`);
        const handler = module.exports.onExecutePostLogin;
        if (typeof handler !== 'function') {
          this.status = 'done';
          return;
        }
        Promise.resolve()
          .then(() => handler(event, api))
          .then(() => { this.status = 'done'; }, (e) => { this.status = 'failed'; this.error = messageOf(e); });
      } catch (e) {
        this.status = 'failed';
        this.error = messageOf(e);
      }
    },
    // Milliseconds until the next timer is due, or -1 when none is set.
    nextTimer() {
      let next = -1;
      const now = Date.now();
      for (const t of timers.values()) {
        const wait = Math.max(0, t.at - now);
        if (next < 0 || wait < next) next = wait;
      }
      return next;
    },
    // Runs every timer that is due.
    fireDue() {
      const now = Date.now();
      for (const [id, t] of [...timers]) {
        if (t.at <= now) {
          timers.delete(id);
          t.fn(...t.args);
        }
      }
    },
    result() { return JSON.stringify(result); },
  };
})(globalThis.__host);
